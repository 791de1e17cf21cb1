namespace Demos.Maas.Transports.Http;

/// <summary>Settings of the HTTP client side.</summary>
public sealed class HttpTransportOptions
{
    /// <summary>HTTP version of requests: 1.1 (default) or 2.0 (cleartext HTTP/2 with prior knowledge).</summary>
    public Version HttpVersion { get; set; } = System.Net.HttpVersion.Version11;

    /// <summary>How long an idle pooled connection is kept.</summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Connect timeout of one HTTP connection.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
