using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;

namespace Demos.Maas.Transports.Http.Tests;

public sealed class UnixSocketTakeoverTests
{
    [Fact]
    public async Task A_second_server_on_a_live_servers_socket_is_refused_and_the_first_keeps_serving()
    {
        var path = Path.Combine(Path.GetTempPath(), $"maas-live-{Guid.NewGuid():N}.sock");
        var uri = $"http+unix://{path}";
        await using var first = new MaasServer(transports: [new HttpTransport()]);
        first.AddModel(GaussianModel.Create(1));
        await first.ListenAsync(uri);

        await using var second = new MaasServer(transports: [new HttpTransport()]);
        var error = await Assert.ThrowsAsync<MaasException>(() => second.ListenAsync(uri));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);

        Assert.True(File.Exists(path));
        var options = new MaasClientOptions();
        options.Transports.Add(new HttpTransport());
        await using var client = await MaasClient.ConnectAsync(uri, options);
        var model = await client.GetModelAsync("gaussian1d");
        Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), await model.LogDensityAsync([0.5]), 12);
    }

    [Fact]
    public async Task A_stale_socket_file_from_a_dead_server_is_replaced()
    {
        var path = Path.Combine(Path.GetTempPath(), $"maas-stale-{Guid.NewGuid():N}.sock");
        // What a crashed server leaves behind: a file nobody answers on (.NET removes a socket file it closes itself).
        await File.WriteAllTextAsync(path, "");
        Assert.True(File.Exists(path));
        await using var server = new MaasServer(transports: [new HttpTransport()]);
        await server.ListenAsync($"http+unix://{path}");
    }
}
