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
