using System.Diagnostics;

namespace Demos.Maas.Tests;

/// <summary>Where the repository and its build outputs are, and running child processes with a hang guard.</summary>
internal static class TestEnvironment
{
    /// <summary>The folder holding Demos.Maas.Core.sln.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Demos.Maas.Core.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Repository root not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The build configuration the tests run in (Debug or Release).</summary>
    public static string Configuration => AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>A file in a project's build output, e.g. Output("src", "Demos.Maas.Cli", "maas.dll").</summary>
    public static string Output(string folder, string project, string file) =>
        Path.Combine(RepositoryRoot, folder, project, "bin", Configuration, "net10.0", file);

    /// <summary>True when <paramref name="tool"/> is on PATH.</summary>
    public static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, tool)));

    /// <summary>Runs a process to its end (killed after <paramref name="limit"/>, default 5 minutes); returns its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, string directory, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? limit = null)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(limit ?? TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} timed out after {(limit ?? TimeSpan.FromMinutes(5)).TotalSeconds} s\n{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Runs a process and fails the test unless it exits 0; returns its output.</summary>
    public static async Task<string> RunCheckedAsync(string file, string directory, params string[] args)
    {
        var (code, output) = await RunAsync(file, directory, args);
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} failed (exit {code}):\n{output}");
        return output;
    }
}
