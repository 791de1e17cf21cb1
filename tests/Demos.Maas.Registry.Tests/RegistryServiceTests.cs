using Demos.Maas.Client;

namespace Demos.Maas.Registry.Tests;

/// <summary>A real registry process (<c>maas registry serve</c>), real model servers on pipe and TCP, and clients connected by <c>maas://</c>.</summary>
public sealed class RegistryServiceTests
{
    private static readonly double[] Points = [0.5, 1.5];

    [Fact]
    public async Task Two_versions_with_two_endpoints_resolve_search_fail_over_report_health_and_survive_a_restart()
    {
        string store = TestModels.TempPath("registry.db");
        var (registry, url) = await RegistryFixture.StartRegistryAsync(store);
        var servers = new List<Server.MaasServer>();
        try
        {
            using var writer = new RegistryClient(url, RegistryFixture.Key);
            var endpoints = new Dictionary<string, List<Uri>>();
            foreach (string version in new[] { "1.0.0", "1.1.0" })
            {
                var model = TestModels.Create(version);
                var (pipeServer, pipe) = await RegistryFixture.StartEndpointAsync(model, RegistryFixture.PipeListen(version));
                var (tcpServer, tcp) = await RegistryFixture.StartEndpointAsync(TestModels.Create(version), RegistryFixture.TcpListen);
                servers.AddRange([pipeServer, tcpServer]);
                endpoints[version] = [pipe, tcp];
                var created = await writer.RegisterAsync(new RegistrationRequest
                {
                    Name = "shifted-normal",
                    Reference = TestModels.Reference(model, tcp.ToString()),
                    Endpoints = [new EndpointRegistration { Uri = tcp.ToString(), Region = "site-a" }, new EndpointRegistration { Uri = pipe.ToString(), Region = "site-a" }],
                });
                Assert.Equal(2, created.Endpoints.Count);
            }

            using var reader = new RegistryClient(url);
            // By uuid: the latest version; by uuid@version: that one.
            Assert.Equal("1.1.0", (await reader.ResolveAsync(TestModels.Uuid)).Reference.Version);
            var old = await reader.ResolveAsync(TestModels.Uuid, "1.0.0");
            Assert.Equal("1.0.0", old.Reference.Version);
            Assert.Equal(endpoints["1.0.0"].Select(u => u.ToString()).Order(), old.Endpoints.Select(e => e.Uri).Order());

            var found = Assert.Single(await reader.SearchAsync("shifted"));
            Assert.Equal(["1.0.0", "1.1.0"], found.Versions);
            Assert.Single(await reader.SearchAsync(author: "Lovelace"));
            Assert.Single(await reader.SearchAsync(doi: "10.5281/zenodo.1234567"));
            Assert.Empty(await reader.SearchAsync("no such model"));

            // The monitor finds all four healthy; then the pipe endpoint (the faster transport) comes first.
            var healthy = await RegistryFixture.EventuallyAsync(() => reader.ResolveAsync(TestModels.Uuid), r => r.Endpoints.All(e => e.Health == EndpointHealth.Healthy && e.LatencyMs is not null), "all healthy");
            Assert.Equal("pipe", healthy.Endpoints[0].Transport);

            // A client by uuid, and one by uuid@version, each computing through whatever endpoint they resolved to.
            // Retries off: staying connected when the endpoint dies is the maas:// invoker's failover, not the retry middleware's.
            await using var latest = await MaasClient.ConnectAsync($"maas://{TestModels.Uuid}", RegistryFixture.ClientOptions(url.ToString(), retry: false));
            await using var pinned = await MaasClient.ConnectAsync($"maas://{TestModels.Uuid}@1.0.0", RegistryFixture.ClientOptions(url.ToString()));
            var model11 = await latest.GetModelAsync(TestModels.Uuid);
            Assert.Equal("1.1.0", model11.Info.Version);
            Assert.Equal("1.0.0", (await pinned.GetModelAsync(TestModels.Uuid)).Info.Version);
            using (var before = await model11.LogDensityAsync(DoubleMatrix.FromRows([[Points[0]], [Points[1]]])))
            {
                Assert.Equal(-0.125, before[0, 0], 12);
            }

            // Kill the endpoint the client uses (pipe of 1.1.0): the client keeps working on the other one.
            var killed = servers[2];
            await killed.DisposeAsync();
            using (var after = await model11.LogDensityAsync(DoubleMatrix.FromRows([[Points[0]], [Points[1]]])))
            {
                Assert.Equal(-1.125, after[1, 0], 12);
            }

            // The monitor marks it unhealthy, and resolution puts it behind the live one.
            string dead = endpoints["1.1.0"][0].ToString();
            var resolved = await RegistryFixture.EventuallyAsync(() => reader.ResolveAsync(TestModels.Uuid), r => r.Endpoints.Any(e => e.Uri == dead && e.Health == EndpointHealth.Unhealthy), "unhealthy");
            Assert.Equal(endpoints["1.1.0"][1].ToString(), resolved.Endpoints[0].Uri);
            Assert.Equal(dead, resolved.Endpoints[^1].Uri);

            // A new client skips the dead endpoint.
            await using (var fresh = await MaasClient.ConnectAsync($"maas://{TestModels.Uuid}", RegistryFixture.ClientOptions(url.ToString())))
            {
                using var y = await (await fresh.GetModelAsync(TestModels.Uuid)).LogDensityAsync(DoubleMatrix.FromRows([[0.0]]));
                Assert.Equal(0.0, y[0, 0]);
            }

            // History survives a restart of the registry process on the same store.
            registry.Signal("TERM");
            Assert.Equal(0, await registry.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            await registry.DisposeAsync();
            (registry, url) = await RegistryFixture.StartRegistryAsync(store);
            using var afterRestart = new RegistryClient(url);
            var versions = await afterRestart.ListVersionsAsync(TestModels.Uuid);
            Assert.Equal(["1.0.0", "1.1.0"], versions.Select(v => v.Reference.Version));
            Assert.Equal(4, (await afterRestart.ListEndpointsAsync()).Count);
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }

            await registry.DisposeAsync();
            File.Delete(store);
        }
    }

    [Fact]
    public async Task Bad_input_gives_typed_clear_errors()
    {
        string store = TestModels.TempPath("registry.db");
        var (registry, url) = await RegistryFixture.StartRegistryAsync(store);
        await using var registryProcess = registry;
        var model = TestModels.Create("2.0.0");
        var (server, tcp) = await RegistryFixture.StartEndpointAsync(model, RegistryFixture.TcpListen);
        await using var endpointServer = server;
        using var writer = new RegistryClient(url, RegistryFixture.Key);
        var reference = TestModels.Reference(model, tcp.ToString());
        await writer.RegisterAsync(new RegistrationRequest { Name = "shifted-normal", Reference = reference, Endpoints = [new EndpointRegistration { Uri = tcp.ToString() }] });

        // Writes need the key.
        using (var anonymous = new RegistryClient(url))
        {
            var ex = await Assert.ThrowsAsync<RegistryException>(() => anonymous.RegisterAsync(new RegistrationRequest { Name = "x", Reference = reference }));
            Assert.Equal((RegistryError.Unauthenticated, MaasErrorCode.Unauthenticated), (ex.Error, ex.Code));
        }

        using (var wrongKey = new RegistryClient(url, RegistryKey.Generate()))
        {
            Assert.Equal(RegistryError.Unauthenticated, (await Assert.ThrowsAsync<RegistryException>(() => wrongKey.DeregisterAsync(TestModels.Uuid, null, tcp.ToString()))).Error);
        }

        // Re-registering a version with different content.
        var changed = TestModels.Reference(TestModels.Create("2.0.0", offset: 7), tcp.ToString());
        var conflict = await Assert.ThrowsAsync<RegistryException>(() => writer.RegisterAsync(new RegistrationRequest { Name = "shifted-normal", Reference = changed }));
        Assert.Equal(RegistryError.VersionConflict, conflict.Error);
        Assert.Contains("never overwritten", conflict.Message, StringComparison.Ordinal);

        // A malformed reference names its field.
        var bad = TestModels.Reference(model, tcp.ToString());
        bad.Version = "two";
        var malformed = await Assert.ThrowsAsync<RegistryException>(() => writer.RegisterAsync(new RegistrationRequest { Name = "x", Reference = bad }));
        Assert.Equal((RegistryError.MalformedReference, "version"), (malformed.Error, malformed.Field));

        // Unknown uuid, and malformed maas:// URIs, through the client transport.
        var options = RegistryFixture.ClientOptions(url.ToString());
        var unknown = await Assert.ThrowsAsync<RegistryException>(() => MaasClient.ConnectAsync($"maas://{Guid.NewGuid()}", options));
        Assert.Equal((RegistryError.UnknownModel, MaasErrorCode.NotFound), (unknown.Error, unknown.Code));
        Assert.Equal(RegistryError.UnknownModel, (await Assert.ThrowsAsync<RegistryException>(() => MaasClient.ConnectAsync($"maas://{TestModels.Uuid}@9.9.9", options))).Error);
        Assert.Equal(RegistryError.MalformedReference, (await Assert.ThrowsAsync<RegistryException>(() => MaasClient.ConnectAsync("maas://not-a-uuid", options))).Error);

        // What answers is not what the reference names: the checksum differs, refused before any call.
        var other = TestModels.Create("3.0.0", offset: 1);
        var lying = TestModels.Reference(other, tcp.ToString());
        var (otherServer, otherTcp) = await RegistryFixture.StartEndpointAsync(TestModels.Create("3.0.0"), RegistryFixture.TcpListen);
        await using (otherServer)
        {
            await writer.RegisterAsync(new RegistrationRequest { Name = "shifted-normal", Reference = lying, Endpoints = [new EndpointRegistration { Uri = otherTcp.ToString() }] });
            var mismatch = await Assert.ThrowsAsync<RegistryException>(() => MaasClient.ConnectAsync($"maas://{TestModels.Uuid}@3.0.0", options));
            Assert.Equal((RegistryError.ChecksumMismatch, MaasErrorCode.VersionMismatch, "checksum"), (mismatch.Error, mismatch.Code, mismatch.Field));
            Assert.Contains(lying.Checksum, mismatch.Message, StringComparison.Ordinal);
        }

        // A registry that is down.
        registry.Signal("TERM");
        await registry.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var down = await Assert.ThrowsAsync<RegistryException>(() => MaasClient.ConnectAsync($"maas://{TestModels.Uuid}", options));
        Assert.Equal((RegistryError.RegistryUnavailable, MaasErrorCode.Unavailable), (down.Error, down.Code));
        Assert.Contains(url.ToString(), down.Message, StringComparison.Ordinal);
        File.Delete(store);
    }

    [Fact]
    public async Task A_local_reference_file_resolves_without_a_registry()
    {
        var model = TestModels.Create("1.0.0");
        var (server, tcp) = await RegistryFixture.StartEndpointAsync(model, RegistryFixture.TcpListen);
        await using var endpointServer = server;
        string file = TestModels.TempPath("ref.json");
        await File.WriteAllTextAsync(file, MaasReferenceJson.Serialize(TestModels.Reference(model, tcp.ToString())));
        try
        {
            await using var client = await MaasClient.ConnectAsync($"maas://{TestModels.Uuid}@1.0.0", RegistryFixture.ClientOptions(file));
            Assert.Equal("1.0.0", (await client.GetModelAsync(TestModels.Uuid)).Info.Version);
            Assert.Equal(RegistryError.UnknownModel, (await Assert.ThrowsAsync<RegistryException>(() => MaasClient.ConnectAsync($"maas://{TestModels.Uuid}@2.0.0", RegistryFixture.ClientOptions(file)))).Error);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
