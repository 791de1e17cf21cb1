using Demos.Maas.Server;
using Microsoft.AspNetCore.Routing;

namespace Demos.Maas.Transports.Http;

/// <summary>Settings of the HTTP transport: the client's HTTP version and pool, and routes a host maps beside MaaS's own.</summary>
public sealed class HttpTransportOptions
{
    /// <summary>
    /// Route mappings a host started by this transport adds beside <c>MapMaas</c> and the probes,
    /// e.g. UM-Bridge's (<c>options.Routes.Add((endpoints, server) =&gt; endpoints.MapUmBridge(server))</c>).
    /// </summary>
    public IList<Action<IEndpointRouteBuilder, MaasServer>> Routes { get; } = [];

    /// <summary>HTTP version of requests: 1.1 (default) or 2.0 (cleartext HTTP/2 with prior knowledge).</summary>
    public Version HttpVersion { get; set; } = System.Net.HttpVersion.Version11;

    /// <summary>How long an idle pooled connection is kept.</summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Connect timeout of one HTTP connection.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
