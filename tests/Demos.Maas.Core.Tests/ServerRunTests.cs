using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;

namespace Demos.Maas.Core.Tests;

/// <summary>RunAsync and WaitForShutdownAsync block while serving and return after a graceful stop.</summary>
public sealed class ServerRunTests
{
    [Fact]
    public async Task RunAsync_listens_on_the_configured_uris_serves_until_cancelled_then_refuses()
    {
        string uri = $"inproc://run-{Guid.NewGuid():N}";
        var options = new MaasServerOptions();
        options.Listen.Add(uri);
        await using var server = new MaasServer(options);
        server.AddModel(GaussianModel.Create(1));
        using var stop = new CancellationTokenSource();
        var running = server.RunAsync(stop.Token);

        await using (var client = await ConnectWhenListeningAsync(server, uri))
        {
            var model = await client.GetModelAsync("gaussian1d");
            Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), await model.LogDensityAsync([0.5]), 12);
            Assert.False(running.IsCompleted, "RunAsync returned while the server was serving.");
        }

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(server.IsDraining);
        await Assert.ThrowsAnyAsync<Exception>(async () => await MaasClient.ConnectAsync(uri));
    }

    [Fact]
    public async Task WaitForShutdownAsync_returns_when_the_server_is_stopped_elsewhere()
    {
        string uri = $"inproc://wait-{Guid.NewGuid():N}";
        await using var server = new MaasServer();
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);
        var waiting = server.WaitForShutdownAsync();
        await using (var client = await MaasClient.ConnectAsync(uri))
        {
            Assert.Equal("gaussian1d", (await client.GetModelAsync("gaussian1d")).Info.Name);
            Assert.False(waiting.IsCompleted, "WaitForShutdownAsync returned while the server was serving.");
        }

        await server.StopAsync(CancellationToken.None);
        await waiting.WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task WaitForShutdownAsync_with_a_cancelled_token_stops_at_once()
    {
        await using var server = new MaasServer();
        await server.ListenAsync($"inproc://cancelled-{Guid.NewGuid():N}");
        await server.WaitForShutdownAsync(new CancellationToken(canceled: true)).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(server.IsDraining);
    }

    private static async Task<MaasClient> ConnectWhenListeningAsync(MaasServer server, string uri)
    {
        // RunAsync opens its listeners before it blocks; poll (bounded) until the address is bound.
        for (int attempt = 0; server.Endpoints.Count == 0 && attempt < 6000; attempt++)
        {
            await Task.Delay(10);
        }

        return await MaasClient.ConnectAsync(uri);
    }
}
