using Demos.Maas.Registry;

namespace Demos.Maas.Registry.Tests;

/// <summary>The one test suite every registry back end passes (SQLite file, PostgreSQL server).</summary>
public abstract class RegistryStoreContract
{
    /// <summary>A connection string of a new, empty store; the same string opens it again.</summary>
    protected abstract string NewStore();

    /// <summary>Skips (locally) or fails (CI) when the back end is missing.</summary>
    protected virtual void RequireBackEnd()
    {
    }

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000);

    private async Task<IRegistryStore> OpenAsync(string connection)
    {
        var store = RegistryStore.Open(connection);
        await store.MigrateAsync();
        return store;
    }

    [SkippableFact]
    public async Task Two_versions_with_two_endpoints_each_are_kept_and_the_latest_is_resolved()
    {
        RequireBackEnd();
        await using var store = await OpenAsync(NewStore());
        foreach (string version in new[] { "1.1.0", "1.0.0" })
        {
            var model = TestModels.Create(version);
            Assert.True(await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(model, "tcp://127.0.0.1:1")));
            await store.AddEndpointAsync(TestModels.Uuid, version, new EndpointRegistration { Uri = $"tcp://127.0.0.1:{version.Replace(".", "", StringComparison.Ordinal)}" }, Now);
            await store.AddEndpointAsync(TestModels.Uuid, version, new EndpointRegistration { Uri = $"pipe:///tmp/{version}.sock", Region = "eu-west" }, Now);
        }

        var versions = await store.ListVersionsAsync(TestModels.Uuid);
        Assert.Equal(["1.0.0", "1.1.0"], versions.Select(v => v.Reference.Version));
        Assert.Equal("1.1.0", (await store.GetVersionAsync(TestModels.Uuid, null))!.Reference.Version);
        Assert.Equal("1.0.0", (await store.GetVersionAsync(TestModels.Uuid, "1.0.0"))!.Reference.Version);
        Assert.Null(await store.GetVersionAsync(TestModels.Uuid, "9.9.9"));
        Assert.Null(await store.GetVersionAsync(Guid.NewGuid(), null));

        var endpoints = await store.ListEndpointsAsync(TestModels.Uuid, "1.0.0");
        Assert.Equal(2, endpoints.Count);
        var pipe = Assert.Single(endpoints, e => e.Transport == "pipe");
        Assert.Equal("eu-west", pipe.Region);
        Assert.Equal(EndpointHealth.Unknown, pipe.Health);
        Assert.Equal(Now, pipe.LastSeen);
        Assert.Equal(4, (await store.ListEndpointsAsync(null, null)).Count);
    }

    [SkippableFact]
    public async Task A_version_is_never_overwritten_and_the_same_content_registers_again()
    {
        RequireBackEnd();
        await using var store = await OpenAsync(NewStore());
        var model = TestModels.Create("1.0.0");
        Assert.True(await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(model, "tcp://127.0.0.1:1")));
        // Same content from another endpoint: fine (a second server of the same version).
        Assert.False(await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(model, "tcp://127.0.0.1:2")));

        var changed = TestModels.Reference(TestModels.Create("1.0.0", offset: 3), "tcp://127.0.0.1:1");
        var ex = await Assert.ThrowsAsync<RegistryException>(() => store.RegisterVersionAsync("shifted-normal", changed));
        Assert.Equal(RegistryError.VersionConflict, ex.Error);
        Assert.Contains("never overwritten", ex.Message, StringComparison.Ordinal);
        Assert.Equal(TestModels.Reference(model, "x").Checksum, (await store.GetVersionAsync(TestModels.Uuid, "1.0.0"))!.Reference.Checksum);
    }

    [SkippableFact]
    public async Task Endpoints_heartbeat_record_health_and_deregister()
    {
        RequireBackEnd();
        await using var store = await OpenAsync(NewStore());
        await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(TestModels.Create("1.0.0"), "tcp://127.0.0.1:1"));
        var endpoint = new EndpointRegistration { Uri = "tcp://127.0.0.1:7001" };
        await store.AddEndpointAsync(TestModels.Uuid, "1.0.0", endpoint, Now);
        await store.RecordHealthAsync(TestModels.Uuid, "1.0.0", endpoint.Uri, EndpointHealth.Healthy, 1.5, Now.AddSeconds(5));
        var e = Assert.Single(await store.ListEndpointsAsync(TestModels.Uuid, null));
        Assert.Equal((EndpointHealth.Healthy, 1.5, Now.AddSeconds(5)), (e.Health, e.LatencyMs!.Value, e.LastSeen!.Value));

        await store.RecordHealthAsync(TestModels.Uuid, "1.0.0", endpoint.Uri, EndpointHealth.Unhealthy, null, Now.AddSeconds(9));
        e = Assert.Single(await store.ListEndpointsAsync(TestModels.Uuid, null));
        Assert.Equal((EndpointHealth.Unhealthy, (double?)null, Now.AddSeconds(5)), (e.Health, e.LatencyMs, e.LastSeen!.Value));

        await store.AddEndpointAsync(TestModels.Uuid, "1.0.0", endpoint, Now.AddSeconds(30)); // heartbeat
        e = Assert.Single(await store.ListEndpointsAsync(TestModels.Uuid, null));
        Assert.Equal(Now.AddSeconds(30), e.LastSeen);
        Assert.Equal(Now, e.RegisteredAt);

        Assert.True(await store.RemoveEndpointAsync(TestModels.Uuid, "1.0.0", endpoint.Uri));
        Assert.False(await store.RemoveEndpointAsync(TestModels.Uuid, "1.0.0", endpoint.Uri));
        Assert.Empty(await store.ListEndpointsAsync(TestModels.Uuid, null));
        Assert.NotNull(await store.GetVersionAsync(TestModels.Uuid, "1.0.0")); // the history stays
    }

    [SkippableFact]
    public async Task Search_finds_by_text_author_and_doi()
    {
        RequireBackEnd();
        await using var store = await OpenAsync(NewStore());
        await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(TestModels.Create("1.0.0"), "tcp://127.0.0.1:1"));
        await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(TestModels.Create("1.1.0"), "tcp://127.0.0.1:1"));
        var other = Models.ExampleModels.Create("decay");
        await store.RegisterVersionAsync("decay", TestModels.Reference(other, "tcp://127.0.0.1:2"));

        var found = Assert.Single(await store.SearchAsync("SHIFTED", null, null));
        Assert.Equal("1.1.0", found.LatestVersion);
        Assert.Equal(["1.0.0", "1.1.0"], found.Versions);
        Assert.Single(await store.SearchAsync(null, "noether", null));
        Assert.Single(await store.SearchAsync(null, null, "10.5281/ZENODO.1234567"));
        Assert.Single(await store.SearchAsync("decay", null, null));
        Assert.Equal(2, (await store.SearchAsync(null, null, null)).Count);
        Assert.Empty(await store.SearchAsync("nothing like this", null, null));
    }

    [SkippableFact]
    public async Task History_survives_closing_and_reopening_and_migrating_again()
    {
        RequireBackEnd();
        string connection = NewStore();
        await using (var store = await OpenAsync(connection))
        {
            await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(TestModels.Create("1.0.0"), "tcp://127.0.0.1:1"));
            await store.RegisterVersionAsync("shifted-normal", TestModels.Reference(TestModels.Create("1.1.0"), "tcp://127.0.0.1:1"));
            await store.AddEndpointAsync(TestModels.Uuid, "1.1.0", new EndpointRegistration { Uri = "tcp://127.0.0.1:9" }, Now);
        }

        await using (var store = await OpenAsync(connection))
        {
            await store.MigrateAsync();
            Assert.Equal(["1.0.0", "1.1.0"], (await store.ListVersionsAsync(TestModels.Uuid)).Select(v => v.Reference.Version));
            Assert.Single(await store.ListEndpointsAsync(TestModels.Uuid, "1.1.0"));
        }
    }
}
