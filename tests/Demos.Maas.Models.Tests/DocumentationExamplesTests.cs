using System.Text.RegularExpressions;
using Demos.Maas.Cli.Tests;
using Demos.Maas.Tests;

namespace Demos.Maas.Models.Tests;

/// <summary>
/// Every <c>bash</c> block of docs/examples.md runs as written (with its /tmp paths moved to a
/// private folder, and <c>maas</c> the tool built here), so the page cannot drift from the code.
/// </summary>
public sealed partial class DocumentationExamplesTests
{
    public static TheoryData<int> Blocks()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < BashBlocks().Count; i++) { data.Add(i); }
        return data;
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public async Task A_shell_block_of_the_examples_page_runs(int index)
    {
        string block = BashBlocks()[index];
        foreach (var compiler in new[] { "g++", "gfortran" })
        {
            if (block.StartsWith(compiler + " ", StringComparison.Ordinal) && !TestEnvironment.OnPath(compiler))
            {
                Assert.True(Environment.GetEnvironmentVariable("CI") != "true", $"{compiler} is missing on CI.");
                return;
            }
        }

        string work = Directory.CreateTempSubdirectory("maas-docs-").FullName;
        string bin = Directory.CreateDirectory(Path.Combine(work, "bin")).FullName;
        string maas = Path.Combine(bin, "maas");
        await File.WriteAllTextAsync(maas, $"#!/bin/sh\nexec dotnet \"{MaasProcess.ToolPath}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(maas, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        // A failing line must not leave a server behind (it would also hold the output open).
        string script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + block.Replace("/tmp/", work + "/", StringComparison.Ordinal);
        var environment = new Dictionary<string, string> { ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH") };
        var (code, output) = await TestEnvironment.RunAsync("bash", TestEnvironment.RepositoryRoot, ["-c", script], environment, TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"block {index} failed (exit {code}):\n{block}\n--- output:\n{output}");
        Assert.DoesNotContain("maas: ", output);
        Directory.Delete(work, recursive: true);
    }

    private static List<string> BashBlocks()
    {
        string page = File.ReadAllText(Path.Combine(TestEnvironment.RepositoryRoot, "docs", "examples.md"));
        return [.. BashBlock().Matches(page).Select(m => m.Groups[1].Value)];
    }

    [GeneratedRegex("```bash\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
