using System.Diagnostics;
using System.Text;

namespace Demos.Maas.Cli.Tests;

/// <summary>The real <c>maas</c> tool in a child process, as a user runs it.</summary>
internal sealed class MaasProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();

    private MaasProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_lock) { _stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_lock) { _stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Stdout { get { lock (_lock) { return _stdout.ToString(); } } }

    public string Stderr { get { lock (_lock) { return _stderr.ToString(); } } }

    /// <summary>Path of the built tool (maas.dll in the Cli project's output).</summary>
    public static string ToolPath => Demos.Maas.Tests.TestEnvironment.Output("src", "Demos.Maas.Cli", "maas.dll");

    public static MaasProcess Start(params string[] args) => StartWithInput(null, args);

    /// <summary>
    /// Starts the tool with SIGINT handled as in a terminal. A program started in the background
    /// by a non-interactive shell inherits SIGINT ignored (so do this test run's children when the
    /// run itself was started that way), and .NET then leaves it ignored; env resets it.
    /// </summary>
    public static MaasProcess StartAsFromTerminal(params string[] args) => Start(["env", "--default-signal=INT", "dotnet"], null, args);

    public static MaasProcess StartWithInput(string? stdin, params string[] args) => Start(["dotnet"], stdin, args);

    // launcher: the program and its arguments that run `maas.dll args`.
    private static MaasProcess Start(string[] launcher, string? stdin, string[] args)
    {
        var info = new ProcessStartInfo(launcher[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        foreach (var a in launcher.Skip(1).Append(ToolPath).Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        var process = new MaasProcess(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start."));
        if (stdin is not null)
        {
            try
            {
                process._process.StandardInput.Write(stdin);
                process._process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The tool exited before reading its input (a command-line error): what it said is the result.
                try
                {
                    process._process.StandardInput.Dispose();
                }
                catch (IOException)
                {
                    // The unsent input is dropped with the pipe.
                }
            }
        }

        return process;
    }

    /// <summary>Runs to completion with <paramref name="stdin"/> piped in; fails the test after 120 s (a hang).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunWithInputAsync(string stdin, params string[] args)
    {
        await using var p = StartWithInput(stdin, args);
        int code = await p.WaitForExitAsync(TimeSpan.FromSeconds(120));
        return (code, p.Stdout, p.Stderr);
    }

    /// <summary>Runs to completion; fails the test after 120 s (a hang).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        await using var p = Start(args);
        int code = await p.WaitForExitAsync(TimeSpan.FromSeconds(120));
        return (code, p.Stdout, p.Stderr);
    }

    /// <summary>Waits for a line of stdout starting with <paramref name="prefix"/>; returns the rest.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan? limit = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (limit ?? TimeSpan.FromSeconds(60)))
        {
            foreach (var line in Stdout.Split('\n'))
            {
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line[prefix.Length..].Trim();
                }
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No '{prefix}' line. stdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
