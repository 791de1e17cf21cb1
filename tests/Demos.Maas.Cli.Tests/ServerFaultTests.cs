using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Tests;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Cli.Tests;

/// <summary>Faults with real server processes: a server killed with SIGKILL while calls run on it.</summary>
public sealed class ServerFaultTests
{
    [Fact]
    public async Task Killing_one_of_two_servers_during_10000_calls_loses_no_call()
    {
        await using var a = MaasProcess.Start("serve", "--listen", "tcp://127.0.0.1:0", "--model", "gaussian1d", "--log-level", "Warning");
        await using var b = MaasProcess.Start("serve", "--listen", "tcp://127.0.0.1:0", "--model", "gaussian1d", "--log-level", "Warning");
        Uri[] endpoints = [new("tcp" + await a.WaitForLineAsync("listening tcp")), new("tcp" + await b.WaitForLineAsync("listening tcp"))];
        await a.WaitForLineAsync("serving");
        await b.WaitForLineAsync("serving");

        var options = new MaasClientOptions();
        options.Transports.Add(new TcpTransport());
        await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d", endpoints, options);

        const int Calls = 10_000;
        int correct = await FailoverRun.RunAsync(model, Calls, () =>
        {
            a.Signal("KILL"); // mid-call: eight workers have calls in flight
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(180));

        Assert.Equal(Calls, correct);
        Assert.True(model.Failovers > 0, "calls on the killed server moved");
        Assert.Equal(137, await a.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_server_restarted_on_the_same_address_is_reached_again_by_the_same_client()
    {
        string socket = Path.Combine(Path.GetTempPath(), $"maas-restart-{Guid.NewGuid():N}.sock");
        var options = new MaasClientOptions();
        options.Transports.Add(new Transports.Pipe.PipeTransport());
        options.Retry = new Middleware.RetryOptions { MaxAttempts = 8 };
        MaasClient client;
        IModel model;
        await using (var first = MaasProcess.Start("serve", "--listen", $"pipe://{socket}", "--model", "gaussian1d", "--log-level", "Warning"))
        {
            await first.WaitForLineAsync("serving");
            client = await MaasClient.ConnectAsync($"pipe://{socket}", options);
            model = await client.GetModelAsync("gaussian1d");
            Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), await model.LogDensityAsync([0.5]));
            first.Signal("KILL");
            Assert.Equal(137, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        await using (client)
        {
            await using var second = MaasProcess.Start("serve", "--listen", $"pipe://{socket}", "--model", "gaussian1d", "--log-level", "Warning");
            await second.WaitForLineAsync("serving");

            // The first attempt finds the dead connection; the retry (with backoff) reconnects.
            Assert.Equal(GaussianModel.LogDensityOf([0.25], [0.0], [1.0]), await model.LogDensityAsync([0.25]));
            Assert.Equal(2, client.Connections);
        }
    }
}
