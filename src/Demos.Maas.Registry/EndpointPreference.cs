namespace Demos.Maas.Registry;

/// <summary>The order endpoints are tried in: healthy before not yet probed before unhealthy, then the faster transport (inproc, pipe, tcp, http), then the lower latency.</summary>
internal static class EndpointPreference
{
    public static List<EndpointRecord> Order(IEnumerable<EndpointRecord> endpoints) =>
        [.. endpoints
            .OrderBy(e => e.Health switch { EndpointHealth.Healthy => 0, EndpointHealth.Unknown => 1, _ => 2 })
            .ThenBy(e => TransportRank(e.Uri))
            .ThenBy(e => e.LatencyMs ?? double.MaxValue)];

    public static int TransportRank(string uri) =>
        (Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? parsed.Scheme : "") switch
        {
            "inproc" => 0,
            "pipe" or "unix" => 1,
            "tcp" => 2,
            "http" or "https" or "http+unix" => 3,
            _ => 4,
        };
}
