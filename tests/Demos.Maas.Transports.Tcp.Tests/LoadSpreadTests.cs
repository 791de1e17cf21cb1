using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;

namespace Demos.Maas.Transports.Tcp.Tests;

/// <summary>
/// The load-spreading client (<see cref="MultiEndpointModel"/>) with real servers on tcp (127.0.0.1)
/// and pipe: spread, outlier ejection and re-probing, servers that join and leave through the
/// resolver, metrics, and <c>maas+lb://</c> addresses.
/// </summary>
public sealed class LoadSpreadTests
{
    private static MaasClientOptions Options()
    {
        var options = new MaasClientOptions { Retry = null };
        options.Transports.Add(new TcpTransport());
        options.Transports.Add(new PipeTransport());
        return options;
    }

    private static async Task<(MaasServer Server, Uri Uri)> StartAsync(string listen)
    {
        var server = new MaasServer(new MaasServerOptions { DrainTimeout = TimeSpan.Zero }, [new TcpTransport(), new PipeTransport()]);
        server.AddModel(GaussianModel.Create(1));
        return (server, await server.ListenAsync(listen));
    }

    private static string Socket() => Path.Combine(Path.GetTempPath(), $"maas-lb-{Guid.NewGuid():N}.sock");

    private static async Task CallAsync(IModel model, int calls, int callers = 4)
    {
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Increment(ref next); i < calls; i = Interlocked.Increment(ref next))
            {
                double x = i / (double)calls;
                Assert.Equal(GaussianModel.LogDensityOf([x], [0.0], [1.0]), await model.LogDensityAsync([x]));
            }
        })));
    }

    [Fact]
    public async Task Concurrent_calls_spread_over_a_tcp_and_a_pipe_server_given_as_a_maas_lb_address()
    {
        var (tcp, tcpUri) = await StartAsync("tcp://127.0.0.1:0");
        var (pipe, pipeUri) = await StartAsync("pipe://" + Socket());
        await using (tcp)
        await using (pipe)
        {
            var address = LoadSpreadAddress.Parse($"maas+lb:///gaussian1d?e={tcpUri}&e={Uri.EscapeDataString(pipeUri.ToString())}");
            await using var model = await MultiEndpointModel.ConnectAsync(address, Options());
            await CallAsync(model, 2000, callers: 8);

            var status = model.Status;
            Assert.Equal([tcpUri, pipeUri], status.Select(s => s.Uri));
            Assert.All(status, s => Assert.True(s.Calls > 0, $"{s.Uri} got no call"));
            Assert.Equal(2000, status.Sum(s => s.Calls));
            Assert.All(status, s => Assert.Equal(0, s.Failures));
        }
    }

    [Fact]
    public async Task An_endpoint_is_ejected_after_n_failures_in_a_row_and_probed_again_after_its_ejection()
    {
        var (live, liveUri) = await StartAsync("tcp://127.0.0.1:0");
        string socket = Socket();
        var deadUri = new Uri("pipe://" + socket);
        await using (live)
        {
            var spread = new LoadSpreadOptions { EjectAfterFailures = 3, EjectionTime = TimeSpan.FromMinutes(10), MaxEjectionTime = TimeSpan.FromMinutes(10) };
            var ejections = new ConcurrentBag<string>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "maas.client.endpoint.ejections")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "maas.endpoint")
                    {
                        ejections.Add((string)tag.Value!);
                    }
                }
            });
            listener.Start();

            await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d", [deadUri, liveUri], Options(), spread);
            Assert.Equal(2, model.HealthyEndpoints); // one failure at connect: not yet ejected

            // One call at a time: each that picks the dead endpoint fails over to the live one.
            for (int i = 0; i < 10; i++)
            {
                Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), await model.LogDensityAsync([0.5]));
            }

            var dead = model.Status.Single(s => s.Uri == deadUri);
            Assert.Equal(3, dead.Failures);
            Assert.Equal(1, dead.Ejections);
            Assert.False(dead.Healthy);
            Assert.Equal(1, model.HealthyEndpoints);
            Assert.Contains(deadUri.ToString(), ejections);
            Assert.Equal(2, model.Failovers);
        }
    }

    [Fact]
    public async Task An_ejected_endpoint_that_comes_back_is_probed_and_used_again()
    {
        var (live, liveUri) = await StartAsync("tcp://127.0.0.1:0");
        string socket = Socket();
        var backUri = new Uri("pipe://" + socket);
        await using (live)
        {
            // Ejection of 1 ms: the next pick after it probes the endpoint again.
            var spread = new LoadSpreadOptions { EjectAfterFailures = 1, EjectionTime = TimeSpan.FromMilliseconds(1), MaxEjectionTime = TimeSpan.FromMilliseconds(1) };
            await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d", [backUri, liveUri], Options(), spread);
            Assert.Equal(1, model.Status.Single(s => s.Uri == backUri).Ejections);

            var (back, _) = await StartAsync(backUri.ToString());
            await using (back)
            {
                // Its one failure was at connect, not a call: once it has calls and no further failure, it answered.
                static bool Answered(LoadSpreadEndpoint s) => s.Calls > 0 && s.Failures == 1;
                for (int i = 0; i < 200 && !Answered(model.Status.Single(s => s.Uri == backUri)); i++)
                {
                    await CallAsync(model, 8, callers: 2);
                }

                var status = model.Status.Single(s => s.Uri == backUri);
                Assert.True(Answered(status), $"the endpoint answered again after its ejection: {status}");
                Assert.True(status.Healthy);
            }
        }
    }

    [Fact]
    public async Task Servers_that_join_later_are_used_and_servers_no_longer_listed_are_dropped()
    {
        var (first, firstUri) = await StartAsync("tcp://127.0.0.1:0");
        var (second, secondUri) = await StartAsync("pipe://" + Socket());
        await using (first)
        await using (second)
        {
            var listed = new List<Uri> { firstUri };
            var source = new Uri("maas://3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07");
            var spread = new LoadSpreadOptions
            {
                RefreshInterval = TimeSpan.FromHours(1), // refreshed by hand below
                Resolve = (uri, _) =>
                {
                    Assert.Equal(source, uri);
                    lock (listed)
                    {
                        return Task.FromResult<IReadOnlyList<Uri>>([.. listed, new Uri("http+unix:///unspoken.sock")]);
                    }
                },
            };
            await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d", [source], Options(), spread);
            Assert.Equal([firstUri], model.Endpoints); // a scheme the client does not speak is left out

            lock (listed)
            {
                listed.Add(secondUri);
            }

            Assert.True(await model.RefreshAsync());
            Assert.Equal([firstUri, secondUri], model.Endpoints);
            await CallAsync(model, 1000, callers: 8);
            Assert.True(model.Status.Single(s => s.Uri == secondUri).Calls > 0, "the server that joined got calls");

            lock (listed)
            {
                listed.Remove(firstUri);
            }

            Assert.True(await model.RefreshAsync());
            Assert.Equal([secondUri], model.Endpoints);
            long before = model.Status.Single().Calls;
            await CallAsync(model, 100);
            Assert.Equal(before + 100, model.Status.Single().Calls);
        }
    }

    [Fact]
    public async Task A_resolver_that_fails_keeps_the_servers_known()
    {
        var (server, uri) = await StartAsync("tcp://127.0.0.1:0");
        await using (server)
        {
            bool fail = false;
            var spread = new LoadSpreadOptions
            {
                Resolve = (_, _) => fail ? throw new HttpRequestException("registry down") : Task.FromResult<IReadOnlyList<Uri>>([uri]),
            };
            await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d", [new Uri("maas://3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07")], Options(), spread);
            fail = true;
            Assert.False(await model.RefreshAsync());
            Assert.Equal([uri], model.Endpoints);
            await CallAsync(model, 10);
        }
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:5000", "is not a maas+lb:// address")]
    [InlineData("maas+lb:///gaussian1d", "names no endpoint: add e=URI")]
    [InlineData("maas+lb://?e=tcp://127.0.0.1:5000", "names no model")]
    [InlineData("maas+lb://host/gaussian1d?e=tcp://127.0.0.1:5000", "takes no host ('host')")]
    [InlineData("maas+lb:///a/b?e=tcp://127.0.0.1:5000", "the path must be one model name or uuid")]
    [InlineData("maas+lb:///gaussian1d?e=127.0.0.1:5000", "endpoint '127.0.0.1:5000' is not an absolute URI")]
    [InlineData("maas+lb:///gaussian1d?e=", "endpoint '' is not an absolute URI")]
    [InlineData("maas+lb:///gaussian1d?e=maas%2Blb:///x%3Fe%3Dtcp://h:1", "is itself a maas+lb:// address")]
    [InlineData("maas+lb:///gaussian1d?e=tcp://127.0.0.1:5000&weight=2", "unknown setting 'weight'")]
    [InlineData("maas+lb:///gaussian1d?e=tcp://127.0.0.1:5000&eject_after=0", "eject_after must be a positive integer, not '0'")]
    [InlineData("maas+lb:///gaussian1d?e=tcp://127.0.0.1:5000&eject_ms=-5", "eject_ms must be a positive integer, not '-5'")]
    [InlineData("maas+lb:///gaussian1d?e=tcp://127.0.0.1:5000&refresh_s=x", "refresh_s must be a positive integer, not 'x'")]
    public void Bad_maas_lb_addresses_are_refused_with_invalid_argument(string address, string message)
    {
        var ex = Assert.Throws<MaasException>(() => LoadSpreadAddress.Parse(address));
        Assert.Equal(MaasErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_maas_lb_address_carries_its_model_endpoints_and_settings()
    {
        var address = LoadSpreadAddress.Parse("maas+lb:///gaussian1d?e=tcp://127.0.0.1:5000&e=pipe%3A%2F%2F%2Ftmp%2Fa.sock&eject_after=3&eject_ms=50&refresh_s=2");
        Assert.Equal("gaussian1d", address.Model);
        Assert.Equal([new Uri("tcp://127.0.0.1:5000"), new Uri("pipe:///tmp/a.sock")], address.Endpoints);
        Assert.Equal(3, address.Options.EjectAfterFailures);
        Assert.Equal(TimeSpan.FromMilliseconds(50), address.Options.EjectionTime);
        Assert.Equal(TimeSpan.FromSeconds(2), address.Options.RefreshInterval);

        var registry = LoadSpreadAddress.Parse("maas+lb://?e=maas://3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07@1.2.0");
        Assert.Equal("3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07", registry.Model);
    }

    [Fact]
    public async Task Bad_settings_and_a_model_address_without_a_resolver_are_invalid_arguments()
    {
        var noResolver = await Assert.ThrowsAsync<MaasException>(() => MultiEndpointModel.ConnectAsync("gaussian1d", [new Uri("maas://3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07")], Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, noResolver.Code);
        Assert.Contains("names a model, not a server: set LoadSpreadOptions.Resolve", noResolver.Message, StringComparison.Ordinal);

        var badSettings = await Assert.ThrowsAsync<MaasException>(() => MultiEndpointModel.ConnectAsync("gaussian1d", [new Uri("tcp://127.0.0.1:1")], Options(), new LoadSpreadOptions { EjectAfterFailures = 0 }));
        Assert.Equal(MaasErrorCode.InvalidArgument, badSettings.Code);
        Assert.Contains("EjectAfterFailures must be at least 1", badSettings.Message, StringComparison.Ordinal);

        var empty = await Assert.ThrowsAsync<MaasException>(() => MultiEndpointModel.ConnectAsync("gaussian1d", [], Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, empty.Code);

        var nothingListed = await Assert.ThrowsAsync<MaasException>(() => MultiEndpointModel.ConnectAsync("gaussian1d", [new Uri("maas://3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07")], Options(), new LoadSpreadOptions { Resolve = (_, _) => Task.FromResult<IReadOnlyList<Uri>>([]) }));
        Assert.Equal(MaasErrorCode.Unavailable, nothingListed.Code);
        Assert.Contains("No server is listed", nothingListed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dns_name_stands_for_a_server_at_each_of_its_addresses()
    {
        var (server, uri) = await StartAsync("tcp://127.0.0.1:0");
        await using (server)
        {
            // localhost: 127.0.0.1 (the server) and, where the machine has it, ::1 (nobody: ejected, calls move).
            await using var model = await MultiEndpointModel.ConnectAsync(LoadSpreadAddress.Parse($"maas+lb:///gaussian1d?e=dns%2Btcp://localhost:{uri.Port}"), Options());
            Assert.Contains(new Uri($"tcp://127.0.0.1:{uri.Port}/"), model.Endpoints);
            await CallAsync(model, 200);
            Assert.True(await model.RefreshAsync());
            Assert.Contains(new Uri($"tcp://127.0.0.1:{uri.Port}/"), model.Endpoints);
        }

        var noPort = await Assert.ThrowsAsync<MaasException>(() => MultiEndpointModel.ConnectAsync("gaussian1d", [new Uri("dns+tcp://maas-pods")], Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, noPort.Code);
        Assert.Contains("needs a host name and a port", noPort.Message, StringComparison.Ordinal);
    }
}
