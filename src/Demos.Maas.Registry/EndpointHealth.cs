using System.Text.Json.Serialization;

namespace Demos.Maas.Registry;

/// <summary>What the health monitor last found at an endpoint.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EndpointHealth>))]
public enum EndpointHealth
{
    /// <summary>Not probed yet.</summary>
    Unknown = 0,

    /// <summary>The last probe succeeded.</summary>
    Healthy = 1,

    /// <summary>The last probe failed (unreachable, draining, or not serving the model).</summary>
    Unhealthy = 2,
}
