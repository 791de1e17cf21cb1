using System.IO.Pipelines;

namespace Demos.Maas.Transport;

/// <summary>
/// One duplex byte connection, as a transport hands it to the client or server (the shape of
/// Kestrel's <c>ConnectionContext</c>): frames are written to and read from <see cref="Transport"/>.
/// </summary>
public abstract class MaasConnection : IAsyncDisposable
{
    /// <summary>The byte pipes of the connection.</summary>
    public abstract IDuplexPipe Transport { get; }

    /// <summary>The peer's address, for logs.</summary>
    public virtual string RemoteAddress => "unknown";

    /// <summary>An identity the transport established for the peer (e.g. a TLS client certificate subject), or null.</summary>
    public virtual string? PeerIdentity => null;

    /// <summary>
    /// Whether a large frame is best written into one buffer as large as the frame (a socket then sends
    /// it with one call), or in the pieces <see cref="Transport"/>'s output hands out (a shared-memory
    /// ring, whose free space is the buffer). True unless the transport says otherwise.
    /// </summary>
    public virtual bool WritesWholeFrames => true;

    /// <summary>
    /// Whether <see cref="Transport"/>'s input completes <c>ReadAtLeastAsync</c> as soon as that many
    /// bytes are buffered, so the rest of a large frame is awaited in one read instead of one read per
    /// arrival. False unless the transport says so: an in-memory <see cref="System.IO.Pipelines.Pipe"/>
    /// whose buffer was examined waits for a new flush even when enough bytes are there.
    /// </summary>
    public virtual bool SupportsLargeFrameReads => false;

    /// <summary>
    /// Whether a flush of <see cref="Transport"/>'s output only makes the written bytes visible to the
    /// peer, without a system call (a shared-memory ring). A server then flushes each answer as it is
    /// written; where a flush is a system call, the answers to one read's requests share one.
    /// </summary>
    public virtual bool FlushesWithoutSystemCall => false;

    /// <summary>Closes the connection at once; pending reads and writes fail.</summary>
    public abstract void Abort();

    /// <summary>Closes the connection and releases its resources.</summary>
    public abstract ValueTask DisposeAsync();
}
