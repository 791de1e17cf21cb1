using Demos.Maas.Client;
using Demos.Maas.Server;
using Demos.Maas.Transports.Http;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Registry.Tests;

/// <summary>Resolution details on an in-process registry: HTTP endpoints' readiness probes, and endpoints the client has no transport for.</summary>
public sealed class RegistryResolutionTests
{
    [Fact]
    public async Task Http_endpoints_are_probed_by_readiness_and_a_client_uses_only_transports_it_speaks()
    {
        string store = TestModels.TempPath("registry.db");
        await using var registry = await RegistryFixture.StartInProcessRegistryAsync(store, TimeSpan.FromSeconds(2));
        var model = TestModels.Create("1.0.0");
        var http = new MaasServer(new MaasServerOptions { DrainTimeout = TimeSpan.FromSeconds(1) }, [new HttpTransport()]);
        http.AddModel(model);
        var httpUri = await http.ListenAsync("http://127.0.0.1:0");
        var (pipeServer, pipeUri) = await RegistryFixture.StartEndpointAsync(TestModels.Create("1.0.0"), RegistryFixture.PipeListen("speaks"));
        await using var pipeEndpoint = pipeServer;
        try
        {
            using var writer = new RegistryClient(registry.Uri, RegistryFixture.Key);
            await writer.RegisterAsync(new RegistrationRequest
            {
                Name = "shifted-normal",
                Reference = TestModels.Reference(model, httpUri.ToString()),
                Endpoints = [new EndpointRegistration { Uri = httpUri.ToString() }, new EndpointRegistration { Uri = pipeUri.ToString() }],
            });
            var resolved = await RegistryFixture.EventuallyAsync(() => writer.ResolveAsync(TestModels.Uuid), r => r.Endpoints.All(e => e.Health == EndpointHealth.Healthy), "probed");
            Assert.Equal(["pipe", "http"], resolved.Endpoints.Select(e => e.Transport));

            // This client speaks HTTP only: the pipe endpoint, though preferred, is not tried.
            var clientOptions = new MaasClientOptions();
            clientOptions.Transports.Add(new HttpTransport());
            clientOptions.Transports.Add(new RegistryTransport(new RegistryResolverOptions { Registry = registry.Uri.ToString() }));
            await using (var client = await MaasClient.ConnectAsync($"maas://{TestModels.Uuid}", clientOptions))
            {
                using var y = await (await client.GetModelAsync(TestModels.Uuid)).LogDensityAsync(DoubleMatrix.FromRows([1.0]));
                Assert.Equal(-0.5, y[0, 0], 12);
            }

            // A stopped HTTP endpoint fails its readiness probe.
            await http.DisposeAsync();
            await RegistryFixture.EventuallyAsync(() => writer.ResolveAsync(TestModels.Uuid), r => r.Endpoints.Single(e => e.Transport == "http").Health == EndpointHealth.Unhealthy, "unhealthy");
        }
        finally
        {
            await http.DisposeAsync();
            File.Delete(store);
        }
    }
}
