using System.Diagnostics;

namespace Demos.Maas.Transports.Mpi.Tests;

/// <summary>Runs MPI jobs with the system's mpirun and collects the driver's CHECK lines.</summary>
internal static class MpiJobs
{
    private static readonly Lazy<Task<Job>> Checks = new(() => RunAsync(["-n", "1", "dotnet", Driver, "checks", ":", "-n", "2", "dotnet", Maas, "mpi-worker", "--model", "gaussian2d", "--model", "decay"]));
    private static readonly Lazy<Task<Job>> Faults = new(() => RunAsync(["-n", "1", "dotnet", Driver, "faults", ":", "-n", "1", "dotnet", Driver, "worker"]));

    public static string Driver => Demos.Maas.Tests.TestEnvironment.Output("tests", "Demos.Maas.MpiDriver", "Demos.Maas.MpiDriver.dll");

    public static string Maas => Demos.Maas.Tests.TestEnvironment.Output("src", "Demos.Maas.Cli", "maas.dll");

    public static bool Available => Demos.Maas.Tests.TestEnvironment.OnPath("mpirun");

    public static Task<Job> ChecksJob => Checks.Value;

    public static Task<Job> FaultsJob => Faults.Value;

    /// <summary>Runs mpirun with the arguments; bounded to 5 minutes (a hang fails the test).</summary>
    public static async Task<Job> RunAsync(IEnumerable<string> args, TimeSpan? limit = null, CancellationToken stop = default)
    {
        var info = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "oob_tcp_if_include", "lo", "--mca", "btl_tcp_if_include", "lo" }.Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(stop);
        guard.CancelAfter(limit ?? TimeSpan.FromMinutes(5));
        bool hung = false;
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            hung = !stop.IsCancellationRequested;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        string output = await stdout;
        var checks = output.Split('\n')
            .Where(l => l.StartsWith("CHECK ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', 4))
            .ToDictionary(p => p[1], p => p.Length > 3 ? $"{p[2]} {p[3]}" : p[2]);
        return new Job(process.ExitCode, hung, output, await stderr, checks);
    }
}

internal sealed record Job(int ExitCode, bool Hung, string Stdout, string Stderr, IReadOnlyDictionary<string, string> Checks)
{
    public void AssertPassed(string check)
    {
        Assert.False(Hung, $"the MPI job hung.\n{Stdout}\n{Stderr}");
        Assert.True(Checks.TryGetValue(check, out var result), $"no result for '{check}' (exit {ExitCode}).\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        Assert.True(result == "PASS", $"{check}: {result}");
    }
}
