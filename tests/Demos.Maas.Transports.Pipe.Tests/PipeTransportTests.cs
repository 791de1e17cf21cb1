using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Tests;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Pipe;
using Microsoft.Extensions.DependencyInjection;

namespace Demos.Maas.Transports.Pipe.Tests;

public sealed class PipeConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new PipeTransport()];

    protected override string NewListenUri() => $"pipe://{Path.Combine(Path.GetTempPath(), $"maas-test-{Guid.NewGuid():N}.sock")}";

    protected override string? ResumingThreadName => "maas socket receive";
}

public sealed class PipeTransportTests
{
    private static string SocketPath() => Path.Combine(Path.GetTempPath(), $"maas-test-{Guid.NewGuid():N}.sock");

    [Fact]
    public async Task Connecting_to_a_missing_socket_gives_Unavailable_and_asks_whether_the_server_runs()
    {
        string path = SocketPath();
        var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync($"pipe://{path}", Options()));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.StartsWith($"No socket at {path}: is the server running?", error.Message);
    }

    [Fact]
    public async Task Connecting_to_a_socket_file_nobody_listens_on_says_the_server_stopped()
    {
        string path = SocketPath();
        await File.WriteAllTextAsync(path, ""); // a file nobody answers on: what a killed server leaves

        try
        {
            var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync($"pipe://{path}", Options()));
            Assert.Equal(MaasErrorCode.Unavailable, error.Code);
            Assert.StartsWith($"Nothing listens on the socket {path}", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced_but_a_live_one_is_not()
    {
        string path = SocketPath();
        // What a crashed server leaves behind: a file nobody answers on.
        await File.WriteAllTextAsync(path, "");

        Assert.True(File.Exists(path));
        await using var server = new MaasServer(transports: [new PipeTransport()]);
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync($"pipe://{path}");

        await using var second = new MaasServer(transports: [new PipeTransport()]);
        var busy = await Assert.ThrowsAsync<MaasException>(() => second.ListenAsync($"pipe://{path}"));
        Assert.Contains("already listening", busy.Message);

        await using var client = await MaasClient.ConnectAsync($"pipe://{path}", Options());
        Assert.Single(await client.ListModelsAsync());
        await server.StopAsync(CancellationToken.None);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Unknown_schemes_and_pathless_uris_give_InvalidArgument()
    {
        var scheme = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync("nope://x", Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, scheme.Code);
        Assert.Contains("'nope://'", scheme.Message);

        // A scheme that is known but not registered names the package that brings it.
        var tcp = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync("tcp://127.0.0.1:1", Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, tcp.Code);
        Assert.Contains("AddTcpTransport", tcp.Message);
        var path = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync("pipe:///", Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, path.Code);
    }

    [Fact]
    public async Task Dependency_injection_wires_server_client_and_transport()
    {
        string uri = $"pipe://{SocketPath()}";
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPipeTransport();
        services.AddMaasServer(o => o.Listen.Add(uri)).AddModel(GaussianModel.Create(1)).AddModel(_ => DecayModel.Create());
        services.AddMaasClient(o => o.Uri = uri);
        await using var provider = services.BuildServiceProvider();
        foreach (var hosted in provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        await using var client = await provider.GetRequiredService<MaasClientFactory>().ConnectAsync();
        Assert.Equal(["decay", "gaussian1d"], (await client.ListModelsAsync()).Select(m => m.Name).Order().ToArray());
        await provider.GetRequiredService<MaasServer>().StopAsync(CancellationToken.None);
    }

    private static MaasClientOptions Options()
    {
        var options = new MaasClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10) };
        options.Transports.Add(new PipeTransport());
        return options;
    }
}

/// <summary>Connects meeting a full accept queue (EAGAIN on a Unix domain socket).</summary>
public sealed class PipeConnectBacklogTests
{
    [Fact]
    public async Task Connects_wait_while_the_accept_queue_is_full_and_complete_once_the_server_accepts()
    {
        using var listener = await FullUnixListener.CreateAsync();
        var transport = new PipeTransport();
        var uri = new Uri($"pipe://{listener.Path}");
        var connecting = Enumerable.Range(0, 3).Select(_ => transport.ConnectAsync(uri).AsTask()).ToArray();

        // Without waiting, each of these failed at once with "Resource temporarily unavailable".
        await Task.Delay(200);
        Assert.All(connecting, c => Assert.False(c.IsCompleted));

        var accepted = new List<System.Net.Sockets.Socket>();
        try
        {
            for (int i = 0; i < listener.Queued + connecting.Length; i++)
            {
                accepted.Add(await listener.Socket.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(30)));
            }

            foreach (var connection in await Task.WhenAll(connecting).WaitAsync(TimeSpan.FromSeconds(30)))
            {
                await connection.DisposeAsync();
            }
        }
        finally
        {
            accepted.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public Task A_connect_waiting_on_a_full_queue_ends_when_cancelled() =>
        FullUnixListener.AssertConnectWaitsUntilCancelledAsync((path, ct) => new PipeTransport().ConnectAsync(new Uri($"pipe://{path}"), ct).AsTask());

    [Fact]
    public async Task A_client_that_never_gets_through_a_full_queue_fails_with_Unavailable_at_its_connect_timeout()
    {
        using var listener = await FullUnixListener.CreateAsync();
        var options = new MaasClientOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300), Retry = null, Reconnect = false };
        options.Transports.Add(new PipeTransport());
        var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync($"pipe://{listener.Path}", options).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
    }
}
