using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Tests;
using Demos.Maas.Server;

namespace Demos.Maas.Transports.Tcp.Tests;

public sealed class MultiEndpointModelTests
{
    [Fact]
    public async Task Stopping_one_of_two_servers_during_10000_calls_loses_no_call()
    {
        var stopFast = new MaasServerOptions { DrainTimeout = TimeSpan.Zero };
        var first = new MaasServer(stopFast, [new TcpTransport()]);
        await using var second = new MaasServer(transports: [new TcpTransport()]);
        first.AddModel(GaussianModel.Create(1));
        second.AddModel(GaussianModel.Create(1));
        Uri[] endpoints = [await first.ListenAsync("tcp://127.0.0.1:0"), await second.ListenAsync("tcp://127.0.0.1:0")];
        var options = new MaasClientOptions();
        options.Transports.Add(new TcpTransport());
        await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d", endpoints, options);

        const int Calls = 10_000;
        int correct = await FailoverRun.RunAsync(model, Calls, async () => await first.DisposeAsync(), TimeSpan.FromSeconds(120));

        Assert.Equal(Calls, correct);
        Assert.True(model.Failovers > 0, "the stopped server's calls moved");
        Assert.Equal(1, model.HealthyEndpoints);
    }

    [Fact]
    public async Task Calls_spread_over_healthy_endpoints_and_a_dead_address_at_start_is_skipped()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var live = await server.ListenAsync("tcp://127.0.0.1:0");
        Uri dead;
        await using (var probe = new MaasServer(transports: [new TcpTransport()]))
        {
            dead = await probe.ListenAsync("tcp://127.0.0.1:0");
        }

        var options = new MaasClientOptions();
        options.Transports.Add(new TcpTransport());
        await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d", [dead, live], options);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(GaussianModel.LogDensityOf([0.25], [0.0], [1.0]), await model.LogDensityAsync([0.25]));
        }

        using var draws = await model.SampleMatrixAsync(1000, seed: 7);
        Assert.Equal(1000, draws.Rows);
    }
}
