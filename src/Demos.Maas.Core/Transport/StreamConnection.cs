using System.IO.Pipelines;

namespace Demos.Maas.Transport;

/// <summary>
/// A <see cref="MaasConnection"/> over any duplex <see cref="Stream"/> (a socket's NetworkStream, a
/// TLS stream, a named pipe). Transports that are byte streams need nothing more.
/// </summary>
public sealed class StreamConnection : MaasConnection
{
    private readonly Stream _stream;
    private readonly Action? _abort;
    private readonly DuplexPipe _pipe;
    private int _disposed;

    /// <summary>Wraps <paramref name="stream"/>; <paramref name="abort"/> tears the underlying channel down at once (e.g. socket.Dispose).</summary>
    public StreamConnection(Stream stream, string remoteAddress, Action? abort = null, string? peerIdentity = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _abort = abort;
        RemoteAddress = remoteAddress;
        PeerIdentity = peerIdentity;
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: true));
        _pipe = new DuplexPipe(reader, writer);
    }

    /// <inheritdoc/>
    public override IDuplexPipe Transport => _pipe;

    /// <inheritdoc/>
    public override string RemoteAddress { get; }

    /// <inheritdoc/>
    public override string? PeerIdentity { get; }

    /// <inheritdoc/>
    public override bool SupportsLargeFrameReads => true;

    /// <inheritdoc/>
    public override void Abort()
    {
        _abort?.Invoke();
        _stream.Dispose();
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _pipe.Output.CompleteAsync().ConfigureAwait(false);
            await _pipe.Input.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer went away first; there is nothing left to flush.
        }

        _abort?.Invoke();
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
