using Demos.Maas.Client;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>Registration, listen addresses and connect failures.</summary>
public sealed class HttpTransportTests
{
    [Fact]
    public void AddHttpTransport_registers_it_once()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddHttpTransport().AddHttpTransport();
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);
        var transports = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetServices<Demos.Maas.Transport.IMaasTransport>(provider);
        var http = Assert.Single(transports);
        Assert.True(http.CanHandle(new Uri("http://127.0.0.1:1/")) && http.CanHandle(new Uri("http+unix:///tmp/m.sock")));
        Assert.False(http.CanHandle(new Uri("tcp://127.0.0.1:1")));

        // HTTP carries calls, not frames: it has the call-level roles only.
        Assert.IsAssignableFrom<Demos.Maas.Transport.IMaasCallInvokerFactory>(http);
        Assert.IsAssignableFrom<Demos.Maas.Transport.IMaasRouteHostFactory>(http);
        Assert.False(http is Demos.Maas.Transport.IMaasConnectionFactory or Demos.Maas.Transport.IMaasListenerFactory);
    }

    [Fact]
    public async Task Bad_addresses_give_clear_errors()
    {
        await using var server = new Demos.Maas.Server.MaasServer(transports: [new HttpTransport()]);
        var notIp = await Assert.ThrowsAsync<MaasException>(() => server.ListenAsync("http://example.invalid:0"));
        Assert.Equal(MaasErrorCode.InvalidArgument, notIp.Code);
        Assert.Contains("IP address", notIp.Message);
        var noSocket = await Assert.ThrowsAsync<MaasException>(() => server.ListenAsync("http+unix:///"));
        Assert.Equal(MaasErrorCode.InvalidArgument, noSocket.Code);

        var options = new MaasClientOptions { ConnectTimeout = TimeSpan.FromSeconds(5) };
        options.Transports.Add(new HttpTransport());
        var refused = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(new Uri("http://127.0.0.1:1/"), options));
        Assert.Equal(MaasErrorCode.Unavailable, refused.Code);

        // A plain web server that is not a Demos.Maas server.
        await using var other = await HttpServerFixture.StartAsync();
        var notMaas = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(new Uri(other.Uri, "prefix/"), options));
        Assert.Equal(MaasErrorCode.Unavailable, notMaas.Code);
        Assert.Contains("not a Demos.Maas HTTP server", notMaas.Message);
    }

    [Fact]
    public async Task A_taken_port_gives_Unavailable()
    {
        await using var first = await HttpServerFixture.StartAsync();
        await using var second = new Demos.Maas.Server.MaasServer(transports: [new HttpTransport()]);
        var error = await Assert.ThrowsAsync<MaasException>(() => second.ListenAsync($"http://127.0.0.1:{first.Uri.Port}"));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.Contains("Cannot listen", error.Message);
    }
}
