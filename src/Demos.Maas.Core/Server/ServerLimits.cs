namespace Demos.Maas.Server;

/// <summary>
/// Limits that keep one slow, broken or hostile client from exhausting the server
/// (<see cref="MaasServerOptions.Limits"/>; docs/reliability.md lists each with its reason).
/// </summary>
public sealed class ServerLimits
{
    /// <summary>Connections served at once over all listeners; more are closed as soon as they are accepted. Default 10,000.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Connections served at once from one remote address (IP, or the socket path for local sockets). Default 1,000.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 1_000;

    /// <summary>Largest frame accepted before the handshake completes (a Hello is tiny). Default 64 KiB.</summary>
    public int MaxHelloBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Longest wait, inside a frame whose first bytes arrived, for the next step of it: the rest of
    /// the frame or 1 MiB, whichever is less (a large frame on a slow link is not cut off while it
    /// keeps coming at 1 MiB per timeout or faster). Then the connection is closed. Default 30 s.
    /// </summary>
    public TimeSpan FrameReadTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection with no request in flight that sends nothing for this long is closed (clients reconnect). <see cref="Timeout.InfiniteTimeSpan"/> turns it off. Default 10 min.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Bytes of responses and stream chunks a connection may have waiting to be written. Over it the
    /// server stops reading new requests from the connection and pauses its streams until the client
    /// reads (backpressure). Default 16 MiB.
    /// </summary>
    public long MaxQueuedWriteBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>How long one frame may take to be accepted by the peer before the connection is closed (a client that stopped reading). Default 30 s.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First pause after an accept error the server may recover from (out of descriptors, buffers or memory); doubles per failure. Default 500 ms.</summary>
    public TimeSpan AcceptRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest pause between accept retries. Default 5 s.</summary>
    public TimeSpan AcceptRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>After the drain of a graceful stop, how long closing connections may take (final frames flushed) before they are aborted. Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
