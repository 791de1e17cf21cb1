using Demos.Maas.Transport;

namespace Demos.Maas.Registry;

/// <summary>Settings of a <see cref="RegistryServer"/> (<c>maas registry serve</c>).</summary>
public sealed class RegistryServerOptions
{
    /// <summary>Where to listen: <c>http://ip:port</c> (port 0 = a free port). Default <c>http://127.0.0.1:8470</c>.</summary>
    public string Listen { get; set; } = "http://127.0.0.1:8470";

    /// <summary>The store (<see cref="RegistryStore.Open"/>): a SQLite file path (default <c>maas-registry.db</c>) or a PostgreSQL URL.</summary>
    public string Store { get; set; } = "maas-registry.db";

    /// <summary>The salted hash of the write key (<see cref="RegistryKey.Hash"/>); null = read-only (every write is refused).</summary>
    public string? KeyHash { get; set; }

    /// <summary>How often the health monitor probes every endpoint. Default 10 s.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one probe may take. Default 3 s.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The transports the health monitor probes binary endpoints with.</summary>
    public IList<IMaasTransport> Transports { get; } = [];
}
