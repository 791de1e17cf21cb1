using Demos.Maas.Client;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Registry.Tests;

/// <summary>
/// The load-spreading client over a registry's endpoints (in-process registry, real tcp and pipe
/// servers): servers registered after the client connected are used, deregistered ones are dropped,
/// and those the health monitor found dead are left out.
/// </summary>
public sealed class RegistryLoadSpreadTests
{
    [Fact]
    public async Task Servers_registered_later_are_used_and_deregistered_or_dead_ones_are_dropped()
    {
        string store = TestModels.TempPath("registry.db");
        await using var registry = await RegistryFixture.StartInProcessRegistryAsync(store, TimeSpan.FromSeconds(2));
        var model = TestModels.Create("1.0.0");
        var (first, firstUri) = await RegistryFixture.StartEndpointAsync(TestModels.Create("1.0.0"), RegistryFixture.TcpListen);
        var (second, secondUri) = await RegistryFixture.StartEndpointAsync(TestModels.Create("1.0.0"), RegistryFixture.PipeListen("later"));
        var (third, thirdUri) = await RegistryFixture.StartEndpointAsync(TestModels.Create("1.0.0"), RegistryFixture.TcpListen);
        try
        {
            using var writer = new RegistryClient(registry.Uri, RegistryFixture.Key);
            async Task RegisterAsync(Uri endpoint) => await writer.RegisterAsync(new RegistrationRequest
            {
                Name = "shifted-normal",
                Reference = TestModels.Reference(model, endpoint.ToString()),
                Endpoints = [new EndpointRegistration { Uri = endpoint.ToString() }],
            });
            await RegisterAsync(firstUri);

            var clientOptions = RegistryFixture.ClientOptions(registry.Uri.ToString(), retry: false);
            var resolver = new RegistryTransport(new RegistryResolverOptions { Registry = registry.Uri.ToString() });
            var spread = resolver.LoadSpread(new LoadSpreadOptions { RefreshInterval = TimeSpan.FromHours(1) }); // refreshed by hand
            await using var spreading = await MultiEndpointModel.ConnectAsync(LoadSpreadAddress.Parse($"maas+lb://?e=maas://{TestModels.Uuid}", spread), clientOptions);
            Assert.Equal([firstUri], spreading.Endpoints);

            // A server that registers after the client connected joins at the next refresh and gets calls.
            await RegisterAsync(secondUri);
            Assert.True(await spreading.RefreshAsync());
            Assert.Equal(2, spreading.Endpoints.Count);
            Assert.Contains(secondUri, spreading.Endpoints);
            int next = -1;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) < 400)
                {
                    using var y = await spreading.LogDensityAsync(DoubleMatrix.FromRows([1.0]));
                    Assert.Equal(-0.5, y[0, 0], 12);
                }
            })));
            Assert.All(spreading.Status, s => Assert.True(s.Calls > 0, $"{s.Uri} got no call"));

            // A deregistered server leaves the rotation.
            await writer.DeregisterAsync(TestModels.Uuid, "1.0.0", firstUri.ToString());
            Assert.True(await spreading.RefreshAsync());
            Assert.Equal([secondUri], spreading.Endpoints);

            // A server the health monitor finds dead is left out while another is alive.
            await RegisterAsync(thirdUri);
            await third.DisposeAsync();
            await RegistryFixture.EventuallyAsync(() => writer.ResolveAsync(TestModels.Uuid), r => r.Endpoints.Single(e => e.Uri == thirdUri.ToString()).Health == EndpointHealth.Unhealthy, "unhealthy");
            Assert.True(await spreading.RefreshAsync());
            Assert.Equal([secondUri], spreading.Endpoints);
            Assert.Equal([secondUri], await resolver.ResolveEndpointsAsync(new Uri($"maas://{TestModels.Uuid}")));
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
            await third.DisposeAsync();
            File.Delete(store);
        }
    }
}
