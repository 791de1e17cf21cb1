namespace Demos.Maas.Registry;

/// <summary>
/// Where the registry keeps models, versions, endpoints and health: an embedded SQLite file or a
/// PostgreSQL database (<see cref="RegistryStore.Open"/>). Versions are never overwritten.
/// </summary>
public interface IRegistryStore : IAsyncDisposable
{
    /// <summary>Which back end this is (<c>sqlite</c> or <c>postgresql</c>).</summary>
    string Kind { get; }

    /// <summary>Brings the schema to the current version (runs the migrations not yet applied); safe to call again.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Registers a version; true when it was new, false when the same content was registered before.</summary>
    /// <exception cref="RegistryException">VersionConflict: the version exists with a different reference.</exception>
    Task<bool> RegisterVersionAsync(string name, MaasReference reference, CancellationToken cancellationToken = default);

    /// <summary>One version, or the latest when <paramref name="version"/> is null; null when unknown.</summary>
    Task<ModelVersionRecord?> GetVersionAsync(Guid uuid, string? version, CancellationToken cancellationToken = default);

    /// <summary>Every version of a model, lowest first (empty when unknown).</summary>
    Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(Guid uuid, CancellationToken cancellationToken = default);

    /// <summary>Models whose name, description, authors or DOI contain <paramref name="text"/> (case-insensitive), and whose authors contain <paramref name="author"/> and DOI equals <paramref name="doi"/> when given.</summary>
    Task<IReadOnlyList<ModelSummary>> SearchAsync(string? text, string? author, string? doi, CancellationToken cancellationToken = default);

    /// <summary>Adds an endpoint, or refreshes its labels and last-seen time when it exists (a heartbeat).</summary>
    Task AddEndpointAsync(Guid uuid, string version, EndpointRegistration endpoint, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Removes an endpoint (of one version, or of every version when <paramref name="version"/> is null); true when one was removed.</summary>
    Task<bool> RemoveEndpointAsync(Guid uuid, string? version, string uri, CancellationToken cancellationToken = default);

    /// <summary>Endpoints, of one model (and version) or all.</summary>
    Task<IReadOnlyList<EndpointRecord>> ListEndpointsAsync(Guid? uuid, string? version, CancellationToken cancellationToken = default);

    /// <summary>Records a probe's outcome; a healthy probe also refreshes last-seen.</summary>
    Task RecordHealthAsync(Guid uuid, string version, string uri, EndpointHealth health, double? latencyMs, DateTimeOffset at, CancellationToken cancellationToken = default);
}
