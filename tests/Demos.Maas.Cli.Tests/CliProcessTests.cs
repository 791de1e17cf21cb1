using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Cli.Tests;

/// <summary>End to end with real processes: a `maas serve` server process, clients in this process.</summary>
public sealed class CliProcessTests
{
    [Fact]
    public async Task Serve_answers_over_pipe_and_tcp_and_drains_on_SIGTERM()
    {
        string socket = Path.Combine(Path.GetTempPath(), $"maas-cli-{Guid.NewGuid():N}.sock");
        await using var server = MaasProcess.Start("serve", "--listen", $"pipe://{socket}", "--listen", "tcp://127.0.0.1:0", "--log-level", "Warning");
        string tcp = "";
        while (!tcp.StartsWith("tcp://", StringComparison.Ordinal))
        {
            tcp = await server.WaitForLineAsync("listening tcp");
            tcp = "tcp" + tcp;
        }

        await server.WaitForLineAsync("serving");
        foreach (var uri in new[] { $"pipe://{socket}", tcp })
        {
            await using var client = await MaasClient.ConnectAsync(uri, Options());
            var gauss = await client.GetModelAsync("gaussian2d");
            using var x = DoubleMatrix.FromRows([0.5, 1], [-1, 2]);
            using var logp = await gauss.LogDensityAsync(x);
            Assert.Equal(GaussianModel.LogDensityOf([0.5, 1], [0, 0], [1, 1]), logp[0, 0], 12);
            Assert.Equal(GaussianModel.LogDensityOf([-1, 2], [0, 0], [1, 1]), logp[1, 0], 12);
            using var draws = await gauss.SampleMatrixAsync(100, seed: 3);
            using var local = await GaussianModel.Create(2).SampleMatrixAsync(100, seed: 3);
            Assert.Equal(local.ToArray(), draws.ToArray());
        }

        server.Signal("TERM");
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("stopped", server.Stdout);
        Assert.False(File.Exists(socket));
    }

    [Fact]
    public async Task Serve_hosts_the_copy_model_whose_log_density_is_its_input()
    {
        string socket = Path.Combine(Path.GetTempPath(), $"maas-cli-{Guid.NewGuid():N}.sock");
        await using var server = MaasProcess.Start("serve", "--listen", $"pipe://{socket}", "--model", "copy", "--log-level", "Warning");
        await server.WaitForLineAsync("serving");
        await using var client = await MaasClient.ConnectAsync($"pipe://{socket}", Options());
        var copy = await client.GetModelAsync("copy");
        Assert.Equal(1, copy.Info.InputDimension);
        double[] points = [1.5, -2, 0, double.MaxValue, -0.0, 3e-300];
        using var x = DoubleMatrix.FromRows([.. points.Select(p => new[] { p })]);
        using var y = await copy.LogDensityAsync(x);
        Assert.Equal(points, y.ToArray());

        // A wrong point size is refused like any model's.
        using var wide = DoubleMatrix.FromRows([1.0, 2.0]);
        var error = await Assert.ThrowsAsync<MaasException>(async () => await copy.LogDensityAsync(wide));
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task An_unknown_model_name_gives_NotFound_naming_every_model_serve_can_host()
    {
        var (exit, _, stderr) = await MaasProcess.RunAsync("serve", "--listen", "tcp://127.0.0.1:0", "--model", "copi");
        Assert.Equal(12, exit);
        Assert.StartsWith("maas: NotFound: No built-in model 'copi'; choose one of gaussian1d", stderr.Trim());
        Assert.Contains("busy:MS", stderr);
        Assert.Contains("or copy,", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Serve_with_inline_io_answers_calls_and_streams_while_a_slow_call_runs_on_another_connection()
    {
        string socket = Path.Combine(Path.GetTempPath(), $"maas-cli-{Guid.NewGuid():N}.sock");
        await using var server = MaasProcess.Start("serve", "--inline-io", "--listen", $"pipe://{socket}", "--listen", "tcp://127.0.0.1:0", "--model", "gaussian1d", "--model", "busy:30000", "--log-level", "Warning");
        string tcp = "tcp" + await server.WaitForLineAsync("listening tcp");
        Assert.Contains("(inline I/O)", await server.WaitForLineAsync("serving"));

        // A call that keeps a core busy for 30 s: it must run on the pool, not on the thread that
        // completes every socket's reads, or the calls below would wait for it.
        await using var slowClient = await MaasClient.ConnectAsync(tcp, Options());
        var busy = await slowClient.GetModelAsync("busy:30000");
        var slow = busy.EvaluateAsync(DoubleMatrix.FromColumn(1.0)).AsTask();
        await Task.Delay(500); // let it start; the assertions hold either way

        foreach (var uri in new[] { $"pipe://{socket}", tcp })
        {
            await using var client = await MaasClient.ConnectAsync(uri, Options());
            var gauss = await client.GetModelAsync("gaussian1d");
            var calls = Enumerable.Range(0, 16).Select(async caller =>
            {
                for (int i = 0; i < 50; i++)
                {
                    double x = (caller * 0.1) + (i * 0.01);
                    using var logp = await gauss.LogDensityAsync(DoubleMatrix.FromColumn(x));
                    Assert.Equal(GaussianModel.LogDensityOf([x], [0], [1]), logp[0, 0], 12);
                }
            });
            await Task.WhenAll(calls);

            // A stream far larger than the socket buffers: its chunks wait for room and resume.
            using var draws = await gauss.SampleMatrixAsync(400_000, seed: 5);
            using var local = await GaussianModel.Create(1).SampleMatrixAsync(400_000, seed: 5);
            Assert.Equal(local.ToArray(), draws.ToArray());
        }

        Assert.False(slow.IsCompleted, "the 30 s call finished first: the other calls waited for it");
    }

    [Fact]
    public async Task Serve_stops_cleanly_on_SIGINT()
    {
        await using var server = MaasProcess.StartAsFromTerminal("serve", "--listen", "tcp://127.0.0.1:0", "--model", "decay");
        await server.WaitForLineAsync("serving");
        server.Signal("INT");
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Demo_walks_through_every_capability()
    {
        var (code, stdout, stderr) = await MaasProcess.RunAsync("demo");
        Assert.True(code == 0, stderr);
        foreach (var expected in new[] { "== Info", "log p =", "identical: True", "d log p/dx", "1^T dF/d(A, lambda)", "version 2: mu = [1, -1]", "draws[2]", "NotFound:", "InvalidArgument:", "== Done" })
        {
            Assert.Contains(expected, stdout);
        }
    }

    [Fact]
    public async Task Info_lists_models_of_a_running_server()
    {
        await using var server = MaasProcess.Start("serve", "--listen", "tcp://127.0.0.1:0");
        string tcp = "tcp" + await server.WaitForLineAsync("listening tcp");
        await server.WaitForLineAsync("serving");
        var (code, stdout, stderr) = await MaasProcess.RunAsync("info", tcp);
        Assert.True(code == 0, stderr);
        Assert.Contains("model   gaussian1d", stdout);
        Assert.Contains("model   decay", stdout);
    }

    [Theory]
    [InlineData("info tcp://127.0.0.1:1", "Unavailable")]
    [InlineData("info nonsense", "InvalidArgument")]
    [InlineData("serve --listen tcp://127.0.0.1:0 --model no-such-model", "NotFound")]
    [InlineData("serve --listen ftp://x", "InvalidArgument")]
    public async Task Bad_input_gives_one_clear_line_and_a_nonzero_exit(string args, string code)
    {
        var (exit, _, stderr) = await MaasProcess.RunAsync(args.Split(' '));
        Assert.NotEqual(0, exit);
        Assert.StartsWith($"maas: {code}:", stderr.Trim());
        Assert.DoesNotContain("   at ", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    private static MaasClientOptions Options()
    {
        var options = new MaasClientOptions();
        options.Transports.Add(new PipeTransport());
        options.Transports.Add(new TcpTransport());
        return options;
    }
}
