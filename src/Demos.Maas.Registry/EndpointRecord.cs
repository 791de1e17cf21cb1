namespace Demos.Maas.Registry;

/// <summary>One address a model version is served at, with what the health monitor knows of it.</summary>
public sealed class EndpointRecord
{
    /// <summary>The model.</summary>
    public Guid Uuid { get; set; }

    /// <summary>The version served there.</summary>
    public string Version { get; set; } = "";

    /// <summary>The address (<c>tcp://…</c>, <c>pipe://…</c>, <c>http://…</c>).</summary>
    public string Uri { get; set; } = "";

    /// <summary>Transport label: the URI scheme unless given (<c>tcp</c>, <c>pipe</c>, <c>http</c>, …).</summary>
    public string Transport { get; set; } = "";

    /// <summary>Region label (e.g. a site or cloud region), or null.</summary>
    public string? Region { get; set; }

    /// <summary>What the last probe found.</summary>
    public EndpointHealth Health { get; set; }

    /// <summary>The last probe's round trip in milliseconds, or null.</summary>
    public double? LatencyMs { get; set; }

    /// <summary>When the endpoint last answered a probe or its server last sent a heartbeat, or null.</summary>
    public DateTimeOffset? LastSeen { get; set; }

    /// <summary>When the endpoint was first registered.</summary>
    public DateTimeOffset RegisteredAt { get; set; }
}
