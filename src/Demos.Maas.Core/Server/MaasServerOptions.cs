using Demos.Maas.Protocol;

namespace Demos.Maas.Server;

/// <summary>Server settings (Options pattern: <c>services.AddMaasServer(o => ...)</c>).</summary>
public sealed class MaasServerOptions
{
    /// <summary>URIs to listen on when the server starts, e.g. "pipe:///tmp/m.sock", "tcp://127.0.0.1:5000".</summary>
    public IList<string> Listen { get; } = [];

    /// <summary>Largest request frame accepted; larger ones get ResourceExhausted. Default 64 MiB.</summary>
    public int MaxFrameBytes { get; set; } = FrameCodec.DefaultMaxFrameBytes;

    /// <summary>Most requests run at once per connection; more get ResourceExhausted. Default 1024.</summary>
    public int MaxInFlightPerConnection { get; set; } = 1024;

    /// <summary>How long a graceful stop waits for running calls before cancelling them. Default 10 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a new connection may take to send Hello. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Connection, frame, write and accept limits against slow, broken or hostile clients.</summary>
    public ServerLimits Limits { get; } = new();

    /// <summary>Result cache shared by all clients; null (default) = no cache.</summary>
    public Middleware.ResultCacheOptions? Cache { get; set; }

    /// <summary>Dynamic batching of concurrent small calls; null (default) = off.</summary>
    public Middleware.BatchingOptions? Batching { get; set; }

    /// <summary>Write one structured usage line per call to the "Demos.Maas.Usage" logger. Default false.</summary>
    public bool UsageLog { get; set; }

    /// <summary>Authentication, authorization, rate limits and the audit log; null (default) = every caller may do everything (docs/security.md).</summary>
    public Security.MaasSecurityOptions? Security { get; set; }

    /// <summary>
    /// Listen on a non-loopback address without <see cref="Security"/>. Off by default: such a server
    /// would let anyone who can reach it call, read data and change parameters. When on, every start
    /// logs a warning.
    /// </summary>
    public bool AllowInsecure { get; set; }

    /// <summary>
    /// Run calls whose model has answered in under 30 µs on average on the connection's read loop
    /// instead of handing them to the thread pool (saves a thread wake-up per call). Default true.
    /// Turn it off for models whose calls are usually quick but sometimes long: such a call holds
    /// up the requests behind it on the same connection while it runs.
    /// </summary>
    public bool InlineQuickCalls { get; set; } = true;

    /// <summary>
    /// Codecs this server accepts when a client offers them, in the client's order of preference.
    /// Default LZ4 and zstd; clear it to refuse compression. Clients on the same host offer none.
    /// </summary>
    public IList<MaasCompression> Compression { get; } = [MaasCompression.Lz4, MaasCompression.Zstd];

    /// <summary>Smallest array payload the server compresses in its answers. Default 64 KiB.</summary>
    public int CompressionThresholdBytes { get; set; } = FrameCompressor.DefaultThresholdBytes;

    /// <summary>Server software name sent in Welcome.</summary>
    public string Agent { get; set; } = $"demos-maas-dotnet/{typeof(MaasServerOptions).Assembly.GetName().Version?.ToString(3)}";
}
