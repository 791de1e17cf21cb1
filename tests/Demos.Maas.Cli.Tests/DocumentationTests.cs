using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Demos.Maas.Tests;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// The code in the documentation works as written: every C# block of README.md and docs/ compiles
/// (with the using lines it shows), the README's server and client run against each other, and
/// the Python, C, C++ and Fortran blocks of the binding guides compile. Also the templates' promises
/// (a clear message without numpy) and the configuration template's defaults.
/// </summary>
public sealed partial class DocumentationTests
{
    private static readonly string Root = TestEnvironment.RepositoryRoot;

    [Fact]
    public async Task Every_csharp_block_of_the_readme_and_docs_compiles_and_the_readme_server_and_client_run()
    {
        string work = Directory.CreateTempSubdirectory("maas-snippets-").FullName;
        var snippets = Blocks("csharp", [Path.Combine(Root, "README.md"), .. Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")]);
        Assert.True(snippets.Count >= 6, $"only {snippets.Count} C# blocks found");
        var program = new StringBuilder("switch (args[0])\n{\n");
        foreach (var snippet in snippets)
        {
            string type = "Snippet_" + Regex.Replace(snippet.Name, "[^A-Za-z0-9]", "_");
            var lines = snippet.Code.Split('\n');
            var usings = lines.TakeWhile(l => l.StartsWith("using ", StringComparison.Ordinal) && !l.StartsWith("using var", StringComparison.Ordinal) || l.Length == 0).ToList();
            var body = lines.Skip(usings.Count);
            var file = new StringBuilder();
            file.AppendLine($"#line 1 \"{snippet.File}\"");
            file.AppendJoin('\n', usings).Append('\n');
            file.AppendLine($"internal static class {type}\n{{\n    public static async Task RunAsync(string[] args)\n    {{");
            file.AppendLine($"#line {snippet.Line + usings.Count} \"{snippet.File}\"");
            file.AppendJoin('\n', body).Append('\n');
            file.AppendLine("#line default\n        await Task.CompletedTask;\n    }\n}");
            string source = SocketPaths().Replace(file.ToString(), m => Path.Combine(work, m.Groups[1].Value));
            await File.WriteAllTextAsync(Path.Combine(work, type + ".cs"), source);
            program.AppendLine($"    case \"{snippet.Name}\": await {type}.RunAsync(args[1..]); break;");
        }

        program.AppendLine("    default: throw new ArgumentException(args[0]);\n}");
        await File.WriteAllTextAsync(Path.Combine(work, "Program.cs"), program.ToString());
        // The libraries as built for the maas tool, which references every one of them.
        string bin = Path.GetDirectoryName(MaasProcess.ToolPath)!;
        var references = Directory.GetFiles(bin, "Demos.Maas.*.dll").Where(f => !Path.GetFileName(f).Contains("Tests", StringComparison.Ordinal))
            .Select(f => $"    <Reference Include=\"{f}\" />");
        await File.WriteAllTextAsync(Path.Combine(work, "Snippets.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <NoWarn>CS1998;CS0219;CS0168</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <FrameworkReference Include="Microsoft.AspNetCore.App" />
            {string.Join('\n', references)}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(work, "nuget.config"), "<configuration><packageSources><clear /></packageSources></configuration>");
        var (code, output) = await TestEnvironment.RunAsync("dotnet", work, ["build", "-o", Path.Combine(work, "out"), "--nologo"]);
        Assert.True(code == 0, "The documentation's C# does not compile:\n" + string.Join('\n', output.Split('\n').Where(l => l.Contains("error", StringComparison.Ordinal)).Distinct()));

        // The README's "Serve a model" block serves until SIGTERM; its "Call it" block calls it.
        string snippetsDll = Path.Combine(work, "out", "Snippets.dll");
        var serve = snippets.First(s => s.File == "README.md" && s.Code.Contains("WaitForShutdownAsync", StringComparison.Ordinal));
        var call = snippets.First(s => s.File == "README.md" && s.Code.Contains("MaasClient.ConnectAsync", StringComparison.Ordinal));
        using var server = Process.Start(new ProcessStartInfo("dotnet", [snippetsDll, serve.Name]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            string? line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
            Assert.StartsWith("serving gauss1d", line);
            var (callCode, callOutput) = await TestEnvironment.RunAsync("dotnet", work, [snippetsDll, call.Name], limit: TimeSpan.FromMinutes(2));
            Assert.True(callCode == 0, callOutput);
            Assert.Contains("log p(0.1) = ", callOutput);

            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            Assert.True(server.ExitCode == 0, await server.StandardError.ReadToEndAsync());
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }

        // The user guide's block on per-call theta runs in process.
        var theta = snippets.First(s => s.File == "docs/user-guide.md" && s.Code.Contains("theta: [1.0, 2.0]", StringComparison.Ordinal));
        var (thetaCode, thetaOutput) = await TestEnvironment.RunAsync("dotnet", work, [snippetsDll, theta.Name], limit: TimeSpan.FromMinutes(2));
        Assert.True(thetaCode == 0, thetaOutput);
        Assert.Equal(Demos.Maas.Models.GaussianModel.LogDensityOf([0.5], [1.0], [2.0]), double.Parse(thetaOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture), 12);
        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task The_python_blocks_of_the_readme_and_the_binding_guides_compile()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "/usr/bin/python3 is missing on CI.");
            return;
        }

        string work = Directory.CreateTempSubdirectory("maas-py-snippets-").FullName;
        var blocks = Blocks("python", [Path.Combine(Root, "README.md"), .. GuideFiles()]);
        Assert.NotEmpty(blocks);
        foreach (var block in blocks)
        {
            string file = Path.Combine(work, Regex.Replace(block.Name, "[^A-Za-z0-9]", "_") + ".py");
            await File.WriteAllTextAsync(file, block.Code);
            var (code, output) = await TestEnvironment.RunAsync(python, work, ["-m", "py_compile", file]);
            Assert.True(code == 0, $"{block.File}:{block.Line}: {output}");
        }
    }

    [Fact]
    public async Task The_c_cpp_and_fortran_blocks_of_the_binding_guides_compile()
    {
        foreach (var tool in new[] { "cc", "c++", "gfortran" })
        {
            if (!TestEnvironment.OnPath(tool))
            {
                Assert.True(Environment.GetEnvironmentVariable("CI") != "true", $"{tool} is missing on CI: scripts/install-test-deps.sh installs it.");
                return;
            }
        }

        string work = Directory.CreateTempSubdirectory("maas-native-snippets-").FullName;
        string bindings = Path.Combine(Root, "bindings");

        // The Fortran blocks use the binding's module and the template's model module.
        await TestEnvironment.RunCheckedAsync("gfortran", work, "-c", "-J", work, Path.Combine(bindings, "fortran", "src", "demos_maas.f90"), "-o", Path.Combine(work, "demos_maas.o"));
        await TestEnvironment.RunCheckedAsync("gfortran", work, "-c", "-J", work, "-I", work, Path.Combine(bindings, "fortran", "template", "my_model.f90"), "-o", Path.Combine(work, "my_model.o"));

        var checks = new (string Language, string Extension, string Compiler, string[] Flags)[]
        {
            ("c", "c", "cc", ["-std=c11", "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-parameter", "-I", Path.Combine(bindings, "c")]),
            ("cpp", "cpp", "c++", ["-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-I", Path.Combine(bindings, "c"), "-I", Path.Combine(bindings, "cpp", "include")]),
            ("fortran", "f90", "gfortran", ["-fsyntax-only", "-I", work]),
        };
        int compiled = 0;
        foreach (var (language, extension, compiler, flags) in checks)
        {
            foreach (var block in Blocks(language, GuideFiles()))
            {
                string file = Path.Combine(work, Regex.Replace(block.Name, "[^A-Za-z0-9]", "_") + "." + extension);
                await File.WriteAllTextAsync(file, block.Code);
                var (code, output) = await TestEnvironment.RunAsync(compiler, work, [.. flags, file]);
                Assert.True(code == 0, $"{block.File}:{block.Line} does not compile:\n{output}");
                compiled++;
            }
        }

        Assert.True(compiled >= 6, $"only {compiled} C, C++ and Fortran blocks found");
    }

    [Fact]
    public async Task The_python_template_without_numpy_stops_with_a_message_that_says_what_to_do()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "/usr/bin/python3 is missing on CI.");
            return;
        }

        // An interpreter without numpy, whatever this machine has: a numpy that cannot be imported.
        string work = Directory.CreateTempSubdirectory("maas-no-numpy-").FullName;
        Directory.CreateDirectory(Path.Combine(work, "numpy"));
        await File.WriteAllTextAsync(Path.Combine(work, "numpy", "__init__.py"), "raise ImportError('No module named numpy')\n");
        var environment = new Dictionary<string, string> { ["PYTHONPATH"] = work + ":" + Path.Combine(Root, "bindings", "python") };
        var (code, output) = await TestEnvironment.RunAsync(python, work, [Path.Combine(Root, "bindings", "python", "template", "my_model.py")], environment, TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Contains("needs numpy", output);
        Assert.Contains("/usr/bin/python3", output);
        Assert.DoesNotContain("Traceback", output);
    }

    [Fact]
    public void The_configuration_template_leaves_the_usage_log_off_and_the_podman_settings_are_complete()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "deploy", "config", "maas.json")), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        Assert.False(config.RootElement.GetProperty("usageLog").GetBoolean());

        string podman = File.ReadAllText(Path.Combine(Root, "deploy", "podman", "containers.conf"));
        Assert.Contains("default_ulimits = []", podman);
        Assert.Contains("cgroup_manager = \"cgroupfs\"", podman);
        Assert.Contains("runtime = \"runc\"", podman);
    }

    [Fact]
    public void Docs_speak_to_users_not_about_the_project_history()
    {
        var files = new[] { Path.Combine(Root, "README.md"), Path.Combine(Root, "deploy", "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md"))
            .Concat(GuideFiles());
        foreach (var file in files)
        {
            string text = File.ReadAllText(file);
            Assert.False(HistoryWords().IsMatch(text), $"{Path.GetRelativePath(Root, file)}: '{HistoryWords().Match(text).Value}'");
        }
    }

    private static IEnumerable<string> GuideFiles() =>
        Directory.GetDirectories(Path.Combine(Root, "bindings")).Select(d => Path.Combine(d, "README.md")).Append(Path.Combine(Root, "bindings", "README.md")).Where(File.Exists);

    /// <summary>The fenced blocks of one language, named by file and position.</summary>
    private static List<(string Name, string File, int Line, string Code)> Blocks(string language, IEnumerable<string> files)
    {
        var blocks = new List<(string, string, int, string)>();
        foreach (var path in files)
        {
            string relative = Path.GetRelativePath(Root, path);
            var lines = File.ReadAllLines(path);
            int index = 0;
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != "```" + language)
                {
                    continue;
                }

                int start = i + 1;
                int end = Array.FindIndex(lines, start, l => l.Trim() == "```");
                Assert.True(end > 0, $"{relative}:{i + 1}: unclosed code block");
                blocks.Add(($"{relative}#{++index}", relative, start + 1, string.Join('\n', lines[start..end])));
                i = end;
            }
        }

        return blocks;
    }

    [GeneratedRegex(@"/tmp/([\w.-]+\.sock)")]
    private static partial Regex SocketPaths();

    [GeneratedRegex(@"design brief|\bissue \d+|\bthe issue\b", RegexOptions.IgnoreCase)]
    private static partial Regex HistoryWords();
}
