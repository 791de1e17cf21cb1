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

    [Fact]
    public async Task Http_over_a_unix_socket_waits_while_the_accept_queue_is_full_instead_of_failing()
    {
        // An HTTP/1.1 client opens a connection per concurrent request; a burst of them can find the
        // server's accept queue full, which a Unix domain socket reports at once (EAGAIN).
        using var listener = await Demos.Maas.Tests.FullUnixListener.CreateAsync();
        using var transport = new HttpTransport();
        var (client, baseUri) = transport.ClientFor(new Uri($"http+unix://{listener.Path}"));
        var requests = Enumerable.Range(0, 3).Select(_ => client.GetAsync(new Uri(baseUri, "ping"))).ToArray();
        await Task.Delay(200);
        Assert.All(requests, r => Assert.False(r.IsCompleted));

        using var stop = new CancellationTokenSource();
        var accepted = new List<System.Net.Sockets.Socket>();
        var serving = Task.Run(async () =>
        {
            while (true)
            {
                var socket = await listener.Socket.AcceptAsync(stop.Token);
                lock (accepted)
                {
                    accepted.Add(socket);
                }

                _ = AnswerOkAsync(socket, stop.Token);
            }
        });
        try
        {
            foreach (var response in await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(30)))
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
                response.Dispose();
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving);
            lock (accepted)
            {
                accepted.ForEach(s => s.Dispose());
            }
        }
    }

    // A minimal HTTP/1.1 server: 200 with an empty body to each request head (the queued raw sockets send none).
    private static async Task AnswerOkAsync(System.Net.Sockets.Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var head = new System.Text.StringBuilder();
        try
        {
            while (true)
            {
                int read = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                head.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
                while (head.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal) is int end and >= 0)
                {
                    head.Remove(0, end + 4);
                    await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), System.Net.Sockets.SocketFlags.None, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The test is over.
        }
    }
}
