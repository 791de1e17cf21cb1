using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Demos.Maas.Transport;

namespace Demos.Maas.Protocol;

/// <summary>
/// Messages over a duplex byte pipe: serialises concurrent writers into whole frames, and runs the
/// read loop that cuts the input into frames and decodes them. Used by both client and server.
/// This file holds the write side; FrameChannel.Read.cs the read side.
/// </summary>
internal sealed partial class FrameChannel : IDisposable, IThreadPoolWorkItem
{
    // Enough payload bytes to read [type, id] at the start of a message (fixarray + uint8 + uint32).
    private const int PeekBytes = 16;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;

    // The input, when it lends its buffer so that large arrays are read in place, and the output,
    // when it can send large arrays from their own memory (socket connections).
    private readonly IReceiveBufferLender? _lender;
    private readonly IBorrowingWriter? _borrowing;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly PooledBufferWriter _scratch = new();
    private bool _outputClosed;

    public FrameChannel(IDuplexPipe pipe, int maxIncomingFrameBytes)
    {
        _input = pipe.Input;
        _output = pipe.Output;
        _lender = _input as IReceiveBufferLender;
        _borrowing = _output as IBorrowingWriter;
        Resumption = _input as IReceiverResumption;
        MaxIncomingFrameBytes = maxIncomingFrameBytes;
    }

    /// <summary>The input, when its receiving thread can resume a caller itself (shm:// connections).</summary>
    public IReceiverResumption? Resumption { get; }

    /// <summary>The channel of a connection; a socket's input gets large-frame reads (<see cref="LargeFrameReads"/>).</summary>
    public FrameChannel(MaasConnection connection, int maxIncomingFrameBytes)
        : this(connection.Transport, maxIncomingFrameBytes)
    {
        LargeFrameReads = connection.SupportsLargeFrameReads;
        WholeFrameWrites = connection.WritesWholeFrames;
    }

    /// <summary>Whether a large frame is written into one buffer the size of the frame (<see cref="MaasConnection.WritesWholeFrames"/>).</summary>
    public bool WholeFrameWrites { get; private init; } = true;

    /// <summary>Largest payload this side accepts (a server starts small and raises it after the handshake).</summary>
    public int MaxIncomingFrameBytes { get; set; }

    /// <summary>Longest wait for more bytes while a frame is partly received; infinite by default.</summary>
    public TimeSpan FrameReadTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>Bounds what waits to be written and how long a write may stall; null = unbounded.</summary>
    public WriteBudget? Budget { get; set; }

    /// <summary>Largest payload the peer accepts (learned in the handshake).</summary>
    public int MaxOutgoingFrameBytes { get; set; } = int.MaxValue;

    /// <summary>
    /// Answers written while the read loop handles the frames of one read go out in one flush at
    /// its end (a server sets this: its quick calls answer on the read loop, one after another).
    /// </summary>
    public bool FlushAfterReadBatch { get; set; }

    /// <summary>Whether nothing more can be sent: the output was closed, or a send failed.</summary>
    public bool OutputClosed => Volatile.Read(ref _outputClosed);

    /// <summary>The compression the handshake chose; null until then, and on connections without it.</summary>
    public FrameCompressor? Compressor { get; set; }

    /// <summary>Where decoded requests come from: a server connection hands out recycled ones; null = a new one each.</summary>
    public Func<MaasRequest>? RequestFactory { get; set; }

    /// <summary>Encodes and writes one frame. Frames of concurrent callers never interleave.</summary>
    /// <exception cref="MaasException">ResourceExhausted when the frame is over the peer's limit (nothing is sent); Unavailable when the connection is closed.</exception>
    public async ValueTask SendAsync(MaasMessage message, CancellationToken cancellationToken = default)
    {
        long queued = Budget is null ? 0 : Math.Max(LargeArrayBytes(message) ?? 0, 256);
        Budget?.Add(queued);
        Interlocked.Increment(ref _senders);
        bool written = false;
        try
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                WriteLocked(message);
                written = true;
                bool last = Interlocked.Decrement(ref _senders) == 0;
                // Borrowed memory (a large matrix sent from its own storage) must be sent before
                // its owner gets control back: the flush is never left to another sender.
                bool large = !_output.CanGetUnflushedBytes || _output.UnflushedBytes >= CoalesceBelowBytes || _borrowing is { HoldsBorrowedMemory: true };
                if (last && !large && QueueFlushWhen is { } others && Budget is null && Thread.CurrentThread.IsThreadPoolThread && others())
                {
                    QueueFlush();
                }
                else if (last || large)
                {
                    await FlushLockedAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            // A sender that failed or gave up may have been the one the frames before it left their flush to.
            if (!written && Interlocked.Decrement(ref _senders) == 0)
            {
                await FlushPendingAsync().ConfigureAwait(false);
            }

            Budget?.Remove(queued);
        }
    }

    /// <summary>
    /// When set and true for the last sender on a thread-pool thread, its flush is queued behind
    /// the work the pool already holds instead of made at once, and <see cref="SendAsync"/> returns
    /// without waiting for it. Callers resumed together by one read of answers then write their next
    /// requests first, and one system call sends them all. A client connection sets this, true while
    /// other calls are in flight (a lone caller's flush is not delayed): its callers learn of a
    /// failed flush from their calls, which fail when the connection closes.
    /// </summary>
    public Func<bool>? QueueFlushWhen { get; set; }

    // 1 while a flush is queued on the thread pool and has not started.
    private int _flushQueued;

    private void QueueFlush()
    {
        if (Interlocked.Exchange(ref _flushQueued, 1) == 0)
        {
            // The global queue, behind the continuations a read of answers queued there. The channel
            // is its own work item: queueing allocates nothing.
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute() => _ = RunQueuedFlushAsync();

    private async Task RunQueuedFlushAsync()
    {
        // Reset first: a frame written from here on queues a flush of its own, or finds this one.
        Volatile.Write(ref _flushQueued, 0);
        await FlushPendingAsync().ConfigureAwait(false);
    }

    // Senders that have started SendAsync and not yet written their frame. Under load many frames
    // are written and flushed by one system call: each sender leaves the flush to the one queued
    // behind it, and the last one flushes (a sender that gives up waiting flushes for the others).
    private int _senders;

    // Frames written since the last flush (under the write lock); not every PipeWriter can report its unflushed bytes.
    private bool _unflushedFrames;

    private async ValueTask FlushPendingAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_outputClosed && _unflushedFrames)
            {
                await FlushLockedAsync().ConfigureAwait(false);
            }
        }
        catch (MaasException)
        {
            // The connection failed; the senders whose frames were waiting learn it from their next send or the read loop.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> as the last frame and completes the output in one step, so
    /// no concurrent sender's frame can follow it (an Error id 0, protocol.md §12). Best effort.
    /// </summary>
    public async ValueTask TrySendLastAsync(MaasMessage message)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_outputClosed)
            {
                WriteLocked(message);
                await FlushLockedAsync().ConfigureAwait(false);
                _outputClosed = true;
                await _output.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is MaasException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer is gone or the message did not fit: the connection closes anyway.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes one frame into the output, unflushed.</summary>
    private void WriteLocked(MaasMessage message)
    {
        if (_outputClosed)
        {
            throw new MaasException(MaasErrorCode.Unavailable, "The connection is closed.");
        }

        // Set before writing: a frame that fails half way is still bytes a flush must not forget.
        _unflushedFrames = true;

        long? arrayBytes = LargeArrayBytes(message);
        if (Compressor is { } compressor && arrayBytes >= compressor.ThresholdBytes && TrySendCompressed(compressor, message))
        {
            // Written compressed.
        }
        else if (arrayBytes is long arrays && arrays >= DirectWriteThreshold && arrays + SmallContentBound <= MaxOutgoingFrameBytes && _output.CanGetUnflushedBytes)
        {
            WriteDirect(message, arrays);
        }
        else
        {
            int length = EncodeToScratch(message);

            // Every request ends with exactly one final message: an Error too large for the peer is
            // shortened (details dropped, message cut) rather than lost.
            while (length > MaxOutgoingFrameBytes && message is ErrorMessage error && Shorten(error) is { } shorter)
            {
                message = shorter;
                length = EncodeToScratch(message);
            }

            if (length > MaxOutgoingFrameBytes)
            {
                throw new MaasException(MaasErrorCode.ResourceExhausted, $"A {message.Type} of {length} bytes is over the peer's frame limit of {MaxOutgoingFrameBytes} bytes; split the batch.");
            }

            BinaryPrimitives.WriteUInt32LittleEndian(_scratch.WrittenSpan, (uint)length);
            _output.Write(_scratch.WrittenSpan);
        }

    }

    private async ValueTask FlushLockedAsync()
    {
        _unflushedFrames = false;

        // Not cancellable: a flush abandoned half way would leave half a frame on the stream.
        FlushResult result;
        try
        {
            var flush = _output.FlushAsync(CancellationToken.None);
            result = flush.IsCompleted || Budget is null ? await flush.ConfigureAwait(false) : await Budget.WithWriteTimeoutAsync(flush.AsTask()).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            _outputClosed = true;
            throw new MaasException(MaasErrorCode.Unavailable, ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            _outputClosed = true;
            throw new MaasException(MaasErrorCode.Unavailable, $"The connection closed while sending: {ex.Message}", ex);
        }

        if (result.IsCompleted)
        {
            _outputClosed = true;
            throw new MaasException(MaasErrorCode.Unavailable, "The peer closed the connection.");
        }
    }

    /// <summary>
    /// Encodes <paramref name="message"/>, compresses it and writes it wrapped in a Compressed
    /// message. False (nothing written) when it does not shrink or would not fit the peer's limit
    /// (raw or wrapped): the caller then sends it as it is, or fails it for size.
    /// </summary>
    private bool TrySendCompressed(FrameCompressor compressor, MaasMessage message)
    {
        int raw = EncodeToScratch(message);
        if (raw > MaxOutgoingFrameBytes)
        {
            return false;
        }

        var packed = compressor.Compress(_scratch.WrittenSpan[FrameCodec.HeaderSize..]);
        if (packed.IsEmpty)
        {
            return false;
        }

        var wrapped = new CompressedMessage { Id = message.Id, Codec = FrameCompressor.FeatureName(compressor.Codec), RawLength = (uint)raw, Data = packed };
        int length = EncodeToScratch(wrapped);
        compressor.Trim();
        if (length > MaxOutgoingFrameBytes)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(_scratch.WrittenSpan, (uint)length);
        _output.Write(_scratch.WrittenSpan);
        return true;
    }

    private int EncodeToScratch(MaasMessage message)
    {
        _scratch.Reset();
        _scratch.Advance(FrameCodec.HeaderSize);
        MessageCodec.Write(_scratch, message);
        return _scratch.WrittenCount - FrameCodec.HeaderSize;
    }

    /// <summary>A smaller copy of <paramref name="error"/> (same id and code), or null when nothing is left to cut.</summary>
    internal static ErrorMessage? Shorten(ErrorMessage error)
    {
        if (error.Details is not null)
        {
            return new ErrorMessage { Id = error.Id, Code = error.Code, Message = error.Message };
        }

        if (error.Message.Length == 0)
        {
            return null;
        }

        int keep = error.Message.Length / 2;
        if (keep > 0 && char.IsHighSurrogate(error.Message[keep - 1]))
        {
            keep--;
        }

        return new ErrorMessage { Id = error.Id, Code = error.Code, Message = error.Message[..keep] };
    }

    // Unflushed bytes past this are flushed whoever is queued: coalescing is for many small frames.
    private const int CoalesceBelowBytes = 256 * 1024;

    // Frames whose arrays are this large skip the scratch buffer (one memcpy of the array less).
    private const int DirectWriteThreshold = 32 * 1024;

    // Generous bound on everything but the arrays in a message that carries only arrays, ids and a
    // model name: keys, headers, the model string (bounded below), small scalars.
    private const int SmallContentBound = 16 * 1024;

    /// <summary>
    /// Writes header and message straight into the pipe and back-patches the length. Safe because
    /// a pipe keeps written, unflushed memory in place until FlushAsync, and used only when the
    /// frame is certainly within the peer's limit (nothing written can be taken back).
    /// </summary>
    private void WriteDirect(MaasMessage message, long arrayBytes)
    {
        // One buffer that holds the whole frame: a socket writer then sends it with one write
        // call instead of one per default-sized segment. A borrowing writer sends the arrays from
        // their own memory and needs room only for the rest.
        int bufferBytes = _borrowing is not null ? FrameCodec.HeaderSize + SmallContentBound
            : WholeFrameWrites ? (int)Math.Min(int.MaxValue, FrameCodec.HeaderSize + arrayBytes + SmallContentBound)
            : FrameCodec.HeaderSize;
        var header = _output.GetMemory(bufferBytes)[..FrameCodec.HeaderSize];
        _output.Advance(FrameCodec.HeaderSize);
        long before = _output.UnflushedBytes;
        MessageCodec.Write(_output, message, _borrowing);
        long length = _output.UnflushedBytes - before;
        BinaryPrimitives.WriteUInt32LittleEndian(header.Span, (uint)length);
    }

    /// <summary>Bytes of the arrays of a message made only of arrays and small fields, or null for any other message.</summary>
    private static long? LargeArrayBytes(MaasMessage message) => message switch
    {
        MaasRequest { Update: null } r when (r.Model?.Length ?? 0) < 1024 && (r.TraceParent?.Length ?? 0) < 1024 && (r.Dataset?.Length ?? 0) < 1024 =>
            ((long)(r.X?.Length ?? 0) + (r.Vector?.Length ?? 0) + r.Theta.Length) * sizeof(double),
        MaasResponse { Info: null, Models: null, Datasets: null, Parameters: null, Y: { } y } => (long)y.Length * sizeof(double),
        StreamChunkMessage c => (long)c.Rows.Length * sizeof(double),
        _ => null,
    };

    /// <summary>Sends, and swallows failures of a connection that is already going away.</summary>
    public async ValueTask TrySendAsync(MaasMessage message)
    {
        try
        {
            await SendAsync(message).ConfigureAwait(false);
        }
        catch (MaasException)
        {
            // Best effort by definition: the peer is gone or the message did not fit.
        }
    }

    /// <summary>Completes the output so the peer sees end of stream after the frames already written.</summary>
    public async ValueTask CloseOutputAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_outputClosed)
            {
                _outputClosed = true;
                await _output.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Already torn down.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Returns the scratch buffer; later sends fail with Unavailable.</summary>
    public void Dispose()
    {
        _writeLock.Wait();
        try
        {
            if (!_outputClosed)
            {
                _outputClosed = true;
            }

            _scratch.Dispose();
            Compressor?.Dispose();
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
