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

    /// <summary>
    /// Host names (with or without port) the server's routes answer to; others get 400. Empty (default) =
    /// the loopback names (localhost, 127.0.0.1, [::1]) and the host the server was told to listen on,
    /// which defeats DNS rebinding against a server on this machine. <c>*</c> allows any host.
    /// </summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>Origins allowed to call the routes from a browser (CORS); empty (default) = none.</summary>
    public IList<string> CorsOrigins { get; } = [];

    /// <summary>TLS of <c>https://</c>: the server's certificate, the CA that signs client certificates (mutual TLS), a client's trusted CA and certificate.</summary>
    public Security.MaasTlsOptions? Tls { get; set; }

    /// <summary>Serve <c>/metrics</c> (Prometheus text format). Default true.</summary>
    public bool ExposeMetrics { get; set; } = true;

    /// <summary>Serve the <c>/health/live</c> and <c>/health/ready</c> probes (without authentication). Default true.</summary>
    public bool ExposeHealth { get; set; } = true;

    /// <summary>HTTP version of requests: 1.1 (default) or 2.0 (cleartext HTTP/2 with prior knowledge).</summary>
    public Version HttpVersion { get; set; } = System.Net.HttpVersion.Version11;

    /// <summary>How long an idle pooled connection is kept.</summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Connect timeout of one HTTP connection.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the receiving thread of a connection keeps checking for bytes (and, between calls, for
    /// the next read), yielding its core, before it sleeps in the kernel: 50 µs by default, or the
    /// whole microseconds in <c>MAAS_SOCKET_SPIN_US</c>; zero sleeps at once. For a client's
    /// connections, and for the server's (those of a <c>http://ip:port</c> or <c>https://</c>
    /// listener started with these options). Applies to connections opened after it is set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative time.</exception>
    public TimeSpan ReceiveSpinTime
    {
        get;
        set => field = Transports.SocketConnections.CheckedReceiveSpin(value);
    } = Transports.SocketConnections.DefaultReceiveSpin;

    /// <summary>
    /// Most connections the client opens to one server; default 100. Over HTTP/1.1 each call in flight holds a
    /// connection, so calls beyond this wait for one to come free (within their deadline) instead of opening
    /// more: a thousand concurrent calls over https:// would otherwise start a thousand TLS handshakes at once.
    /// A stream holds its connection until it ends. Over HTTP/2 each connection carries many calls.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxConnectionsPerServer
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 100;
}
