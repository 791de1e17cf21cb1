using Demos.Maas.Protocol;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Client;

/// <summary>Client settings.</summary>
public sealed class MaasClientOptions
{
    /// <summary>The address to connect to when the client is made by DI (<c>AddMaasClient</c>).</summary>
    public string? Uri { get; set; }

    /// <summary>Transports to pick from by URI scheme. The in-process transport is always added.</summary>
    public IList<IMaasTransport> Transports { get; private set; } = [];

    /// <summary>How long connecting and the handshake may take. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline applied to every call that sets none; null = no deadline.</summary>
    public TimeSpan? DefaultTimeout { get; set; }

    /// <summary>Connect again on the next call after the connection was lost. Default true.</summary>
    public bool Reconnect { get; set; } = true;

    /// <summary>Largest response frame accepted. Default 64 MiB.</summary>
    public int MaxFrameBytes { get; set; } = FrameCodec.DefaultMaxFrameBytes;

    /// <summary>Credentials sent in Hello (e.g. a bearer token), or null.</summary>
    public string? Credentials { get; set; }

    /// <summary>The protocol version offered in Hello. Change only to test version negotiation.</summary>
    public ProtocolVersion ProtocolVersion { get; set; } = ProtocolVersion.Current;

    /// <summary>Client software name sent in Hello.</summary>
    public string Agent { get; set; } = $"demos-maas-dotnet/{typeof(MaasClientOptions).Assembly.GetName().Version?.ToString(3)}";

    /// <summary>
    /// Compression of large frames to offer in Hello: <see cref="MaasCompression.Lz4"/> or
    /// <see cref="MaasCompression.Zstd"/> offers that codec alone, <see cref="MaasCompression.None"/>
    /// none. Null (default) = automatic: LZ4, then zstd, offered to tcp:// and tls:// servers on
    /// other hosts; nothing on one host (pipe://, shm://, loopback), where copying beats compressing.
    /// The server picks; frames with arrays under <see cref="CompressionThresholdBytes"/> are never compressed.
    /// </summary>
    public MaasCompression? Compression { get; set; }

    /// <summary>Smallest array payload worth compressing. Default 64 KiB.</summary>
    public int CompressionThresholdBytes { get; set; } = FrameCompressor.DefaultThresholdBytes;

    /// <summary>Client-side result cache (saves the round trip); null (default) = none.</summary>
    public Middleware.ResultCacheOptions? Cache { get; set; }

    /// <summary>Retries of idempotent calls on Unavailable; null = none. On by default.</summary>
    public Middleware.RetryOptions? Retry { get; set; } = new();

    /// <summary>Merge concurrent small calls of many callers into batched requests; null (default) = off.</summary>
    public Middleware.BatchingOptions? Coalescing { get; set; }

    /// <summary>
    /// Resume the code awaiting a call on the thread that read the call's answer, instead of handing
    /// it to the thread pool: one thread wake-up less per call (a few microseconds, more on a busy
    /// machine). Default false. The code after <c>await</c> then runs on the connection's receiving
    /// thread, and the connection reads nothing more until that code awaits or returns: it must not
    /// block on another call (<c>.Result</c>, <c>Wait()</c>: a deadlock) nor compute for long.
    /// Suits a fitter or sampler that awaits one call after another. With <see cref="Coalescing"/>,
    /// the callers of a merged call resume one after another on that thread, and the calls they
    /// make before their next await all leave together in the next merged call. Over <c>http://</c>
    /// code always resumes on the receiving thread of the HTTP connection that read the answer,
    /// whatever this says, and may block there: a connection whose thread is held for 1 to 5 ms
    /// while a read waits gets a new receiving thread. Over <c>shm://</c>,
    /// <c>pipe://</c> and <c>tcp://</c> (without TLS), without this setting, the caller of the only
    /// call in flight resumes on the receiving thread too, once the connection's read loop waits
    /// again, and may block there: over <c>shm://</c> a second thread of the connection receives
    /// meanwhile; over <c>pipe://</c> and <c>tcp://</c> a new receiving thread takes over when the
    /// caller still holds the thread 1 to 5 ms after a read began to wait. While the thread
    /// pool has work waiting, that caller resumes on the pool instead, behind the work.
    /// </summary>
    public bool InlineCompletions { get; set; }

    /// <summary>Write one structured usage line per call to the "Demos.Maas.Usage" logger. Default false.</summary>
    public bool UsageLog { get; set; }

    /// <summary>Client-side middleware, first = outermost.</summary>
    public MaasPipelineBuilder Pipeline { get; private set; } = new();

    /// <summary>Logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// A copy: every settable property, and the transports and middleware lists. A new property is
    /// copied without an edit here (a test checks every public property round-trips).
    /// </summary>
    public MaasClientOptions Clone()
    {
        var copy = (MaasClientOptions)MemberwiseClone();
        copy.Transports = [.. Transports];
        copy.Pipeline = new MaasPipelineBuilder().UseAll(Pipeline);
        return copy;
    }
}

/// <summary>Per-call settings for a remote model (see <see cref="RemoteModel.WithOptions"/>).</summary>
public sealed record CallOptions
{
    /// <summary>Result cache use for these calls (client cache, and the server's: the mode travels with the request).</summary>
    public Protocol.CacheMode Cache { get; init; }

    /// <summary>Deadline of each call, measured from when it starts. It travels to the server, which cancels the model's work when it passes.</summary>
    public TimeSpan? Timeout { get; init; }
}
