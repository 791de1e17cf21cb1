namespace Demos.Maas.Registry;

/// <summary>What a uuid (and optional version) resolves to: the version's reference and its endpoints, preferred first.</summary>
public sealed class ModelResolution
{
    /// <summary>The display name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The resolved version's reference (the latest version when none was asked for).</summary>
    public MaasReference Reference { get; set; } = new();

    /// <summary>Its endpoints: healthy first, then by transport speed (inproc, pipe, tcp, http), then latency.</summary>
    public IList<EndpointRecord> Endpoints { get; set; } = [];
}
