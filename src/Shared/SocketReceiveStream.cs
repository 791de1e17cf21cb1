using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Demos.Maas.Transports;

/// <summary>The HTTP client's streams (see <see cref="SocketReceiveStream"/>).</summary>
internal static partial class SocketConnections
{
    /// <summary>
    /// A stream over a connected socket whose reads come from a receiving thread of its own
    /// (<see cref="SocketReceiveStream"/>), or a plain <see cref="NetworkStream"/> once the process
    /// has <see cref="MaxReceivingThreads"/> of them.
    /// </summary>
    public static Stream WrapStream(Socket socket, bool inlineReads, TimeSpan receiveSpin) =>
        WithReceivingThread<Stream>(
            count => new SocketReceiveStream(socket, inlineReads, receiveSpin, count),
            () => new NetworkStream(socket, ownsSocket: true));
}

/// <summary>
/// A <see cref="Stream"/> over a connected socket for code that wants a stream (the HTTP client's
/// connections): reads come from a <see cref="SocketReceiveReader"/>, a receiving thread of the
/// socket's own, and writes go straight to the socket. Compiled into each transport that hands out
/// such streams (shared source).
/// </summary>
/// <remarks>
/// A read completes on the receiving thread. With <c>inlineReads</c> the reader's code goes on
/// running there (one thread wake-up per answer, as a blocking program's); if that code still holds
/// the thread 1 to 5 ms after a read began to wait, a new thread takes over receiving
/// (<see cref="ReceiveWatchdog"/>), so code that blocks there, even on this stream's next answer,
/// gets it. Without <c>inlineReads</c> the reader's code moves to a thread-pool thread first. Either
/// way the socket never joins the runtime's epoll thread, which would wake once for every packet.
/// </remarks>
internal sealed class SocketReceiveStream : Stream
{
    private readonly Socket _socket;
    private readonly NetworkStream _output;
    private readonly SocketReceiveReader _reader;
    private readonly bool _inlineReads;
    private int _disposed;

    public SocketReceiveStream(Socket socket, bool inlineReads, TimeSpan receiveSpin, Action<int> countReceivingThread, TimeSpan? receiverIdleEnd = null)
    {
        _socket = socket;
        _inlineReads = inlineReads;
        _output = new NetworkStream(socket, ownsSocket: false);

        // Receives return at once when nothing waits (the receiving thread then polls); sends stay asynchronous.
        socket.Blocking = false;
        // HTTP/1.1 reads only while an answer is due: between requests a pooled connection's thread
        // ends after a while, and the next request's read starts another.
        _reader = new SocketReceiveReader(socket, receiveSpin, countReceivingThread, receiverIdleEnd ?? SocketConnections.ReceiverIdleEnd, handOverWhenBusy: inlineReads);
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var read = _reader.ReadAsync(cancellationToken);
        return read.IsCompletedSuccessfully ? new ValueTask<int>(Take(read.Result, buffer.Span)) : WaitAsync(read, buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // The receiving thread completes the read, so blocking on it here cannot wait for itself.
        var result = _reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        return Take(result, buffer);
    }

    public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _output.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _output.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _output.WriteAsync(buffer, cancellationToken);

    public override void Flush()
    {
        // Writes go to the socket as they are made.
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _reader.Abort();
            _reader.Complete();
            _output.Dispose();
            SocketConnections.ShutDownAndClose(_socket);
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> WaitAsync(ValueTask<ReadResult> read, Memory<byte> buffer)
    {
        // Completes on the receiving thread.
        int count = Take(await read.ConfigureAwait(false), buffer.Span);
        await ThreadPoolHop.ToPoolUnless(_inlineReads);
        return count;
    }

    // Copies what fits and gives the rest back; a zero-byte read only waits for bytes and takes none.
    private int Take(ReadResult result, Span<byte> destination)
    {
        var buffer = result.Buffer;
        int count = (int)Math.Min(buffer.Length, destination.Length);
        if (count == 0)
        {
            _reader.AdvanceTo(buffer.Start);
            if (result.IsCanceled && !result.IsCompleted)
            {
                throw new OperationCanceledException("The read was canceled.");
            }

            return 0;
        }

        var taken = buffer.Slice(0, count);
        taken.CopyTo(destination);
        _reader.AdvanceTo(taken.End);
        return count;
    }
}
