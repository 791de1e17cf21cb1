using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Demos.Maas.CrossProcess;

/// <summary>Starting the programs of the run, and keeping every command and its output for the raw log.</summary>
internal sealed class Processes(TextWriter raw)
{
    public TextWriter Raw { get; } = raw;

    /// <summary>A command line for a program that may be a .dll (run by dotnet) or an executable.</summary>
    public static (string File, string[] Prefix) Command(string program) =>
        program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ("dotnet", [program]) : (program, []);

    /// <summary>This benchmark program itself (for the .NET floor's server and client processes).</summary>
    public static string Self()
    {
        string path = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        return Path.GetFileNameWithoutExtension(path) == "dotnet" ? typeof(Processes).Assembly.Location : path;
    }

    /// <summary>Starts <paramref name="program"/> with its output redirected, logging the command line (with <paramref name="suffix"/>).</summary>
    private Process Launch(string program, IEnumerable<string> args, string suffix, out string line)
    {
        var (file, prefix) = Command(program);
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in prefix.Concat(args))
        {
            start.ArgumentList.Add(a);
        }

        line = $"$ {string.Join(' ', start.ArgumentList.Prepend(file))}{suffix}";
        Raw.WriteLine(line);
        Console.Error.WriteLine(line);
        return Process.Start(start)!;
    }

    public async Task<string> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout)
    {
        using var process = Launch(program, args, "", out string line);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{line} did not finish within {timeout.TotalSeconds} s");
        }

        string output = await stdout;
        Raw.WriteLine(output.TrimEnd());
        if (process.ExitCode != 0)
        {
            string error = (await stderr).Trim();
            Raw.WriteLine($"exit {process.ExitCode}: {error}");
            throw new InvalidOperationException($"{line} failed ({process.ExitCode}): {error}");
        }

        return output;
    }

    public async Task<Background> StartAsync(string program, IEnumerable<string> args, string readyLine, int readyCount = 1)
    {
        var process = Launch(program, args, " &", out string command);
        var background = new Background(process);
        var lines = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (lines.Count(l => l.StartsWith(readyLine, StringComparison.Ordinal)) < readyCount)
            {
                lines.Add(await background.Lines.ReadAsync(cts.Token));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            await background.DisposeAsync();
            throw new InvalidOperationException($"{command} did not print '{readyLine}': {string.Join(" | ", lines)} {background.Errors}");
        }

        Raw.WriteLine(string.Join('\n', lines));
        background.Ready = lines;
        return background;
    }

    public static int FreeTcpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

/// <summary>A server process of the run; killed when disposed.</summary>
internal sealed class Background : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors = new();

    public Background(Process process)
    {
        _process = process;
        var lines = Channel.CreateUnbounded<string>();
        Lines = lines.Reader;
        _ = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lines.Writer.TryWrite(line);
            }

            lines.Writer.TryComplete();
        });
        _ = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_errors)
                {
                    _errors.AppendLine(line);
                }
            }
        });
    }

    public ChannelReader<string> Lines { get; }

    public IReadOnlyList<string> Ready { get; set; } = [];

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
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
