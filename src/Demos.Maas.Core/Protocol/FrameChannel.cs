using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Demos.Maas.Protocol;

/// <summary>
/// Messages over a duplex byte pipe: serialises concurrent writers into whole frames, and runs the
/// read loop that cuts the input into frames and decodes them. Used by both client and server.
/// </summary>
internal sealed class FrameChannel : IDisposable
{
    // Enough payload bytes to read [type, id] at the start of a message (fixarray + uint8 + uint32).
    private const int PeekBytes = 16;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly PooledBufferWriter _scratch = new();
    private bool _outputClosed;

    public FrameChannel(IDuplexPipe pipe, int maxIncomingFrameBytes)
    {
        _input = pipe.Input;
        _output = pipe.Output;
        MaxIncomingFrameBytes = maxIncomingFrameBytes;
    }

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

    /// <summary>The compression the handshake chose; null until then, and on connections without it.</summary>
    public FrameCompressor? Compressor { get; set; }

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
                if (last || !_output.CanGetUnflushedBytes || _output.UnflushedBytes >= CoalesceBelowBytes)
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

    /// <summary>The message a Compressed message carries (protocol.md, "Compression").</summary>
    private MaasMessage Unwrap(CompressedMessage wrapped)
    {
        var compressor = Compressor;
        if (compressor is null || wrapped.Codec != FrameCompressor.FeatureName(compressor.Codec))
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, compressor is null
                ? "A Compressed message arrived on a connection that did not negotiate compression."
                : $"A Compressed message uses '{wrapped.Codec}'; this connection negotiated '{FrameCompressor.FeatureName(compressor.Codec)}'.");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)wrapped.RawLength);
        try
        {
            compressor.Decompress(wrapped, buffer.AsSpan(0, (int)wrapped.RawLength));
            var inner = MessageCodec.Read(buffer.AsMemory(0, (int)wrapped.RawLength));
            if (inner is CompressedMessage || inner.Id != wrapped.Id)
            {
                throw new MaasProtocolException(MaasErrorCode.ProtocolError, inner is CompressedMessage
                    ? "A Compressed message holds another Compressed message."
                    : $"A Compressed message with id {wrapped.Id} holds a {inner.Type} with id {inner.Id}.");
            }

            return inner;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
        // call instead of one per default-sized segment.
        var header = _output.GetMemory((int)(FrameCodec.HeaderSize + arrayBytes + SmallContentBound))[..FrameCodec.HeaderSize];
        _output.Advance(FrameCodec.HeaderSize);
        long before = _output.UnflushedBytes;
        MessageCodec.Write(_output, message);
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

    /// <summary>
    /// Reads frames until the input ends. Each decoded message goes to <paramref name="onMessage"/>;
    /// a frame over the limit goes to <paramref name="onOversized"/> (its bytes are skipped, never
    /// buffered); a well-formed message with invalid content goes to <paramref name="onInvalid"/>.
    /// Malformed input throws <see cref="MaasProtocolException"/> (ProtocolError).
    /// </summary>
    public async Task ReadLoopAsync(
        Func<MaasMessage, ValueTask> onMessage,
        Func<MessageType, uint, long, ValueTask> onOversized,
        Func<MaasProtocolException, ValueTask> onInvalid,
        CancellationToken cancellationToken)
    {
        long skipRemaining = 0;
        bool midFrame = false;

        // Bytes (from the start of the unconsumed input) that complete the frame being received, and
        // what is buffered of them: a large frame is read in large steps, not one wake-up per segment.
        long awaitedBytes = 0;
        long bufferedBytes = 0;

        // Armed only while a frame is partly received: a peer that sends the start of a large frame
        // and stalls would otherwise hold its buffer forever.
        CancellationTokenSource? frameTimer = null;
        try
        {
            while (true)
            {
                ReadResult result;
                if (midFrame && FrameReadTimeout != Timeout.InfiniteTimeSpan)
                {
                    frameTimer ??= CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    frameTimer.CancelAfter(FrameReadTimeout);
                    try
                    {
                        result = await ReadAsync(awaitedBytes, bufferedBytes, frameTimer.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw new TimeoutException($"No bytes of a partly received frame arrived for {FrameReadTimeout.TotalSeconds:0.#} s.");
                    }

                    if (!frameTimer.TryReset())
                    {
                        // Fired just after the bytes came: the read counts, the timer is replaced.
                        frameTimer.Dispose();
                        frameTimer = null;
                    }
                }
                else
                {
                    result = await ReadAsync(awaitedBytes, bufferedBytes, cancellationToken).ConfigureAwait(false);
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                awaitedBytes = 0;

                // Counted as a sender while the frames of this read are handled: answers sent
                // meanwhile leave their flush to the end of the batch.
                bool holdingFlush = FlushAfterReadBatch;
                if (holdingFlush)
                {
                    Interlocked.Increment(ref _senders);
                }

                try
                {
                    while (true)
                    {
                        if (skipRemaining > 0)
                        {
                            long n = Math.Min(skipRemaining, buffer.Length);
                            buffer = buffer.Slice(n);
                            skipRemaining -= n;
                            if (skipRemaining > 0)
                            {
                                break;
                            }
                        }

                        if (!FrameCodec.TryReadLength(buffer, out uint length))
                        {
                            break;
                        }

                        if (length > (uint)MaxIncomingFrameBytes)
                        {
                            if (ForeignProtocol.Describe(length) is { } foreign)
                            {
                                throw new MaasProtocolException(MaasErrorCode.ProtocolError, foreign);
                            }

                            // Decide as soon as [type, id] decode: a peer may send fewer than 16 bytes and wait.
                            long peek = Math.Min(length, PeekBytes);
                            var start = buffer.Slice(FrameCodec.HeaderSize, Math.Min(peek, buffer.Length - FrameCodec.HeaderSize));
                            if (!FrameCodec.TryPeekId(start, out var type, out uint id))
                            {
                                if (start.Length < peek && !result.IsCompleted)
                                {
                                    break;
                                }

                                throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A frame of {length} bytes (over the limit of {MaxIncomingFrameBytes}) does not start like a message.");
                            }

                            await onOversized(type, id, length).ConfigureAwait(false);
                            buffer = buffer.Slice(FrameCodec.HeaderSize);
                            skipRemaining = length;
                            continue;
                        }

                        if (buffer.Length < FrameCodec.HeaderSize + length)
                        {
                            awaitedBytes = FrameCodec.HeaderSize + length;
                            break;
                        }

                        var payload = buffer.Slice(FrameCodec.HeaderSize, length);
                        MaasMessage message;
                        try
                        {
                            message = MessageCodec.Read(payload);
                        }
                        catch (MaasProtocolException ex) when (ex.Code != MaasErrorCode.ProtocolError && ex.RequestId != 0)
                        {
                            buffer = buffer.Slice(FrameCodec.HeaderSize + length);
                            await onInvalid(ex).ConfigureAwait(false);
                            continue;
                        }

                        buffer = buffer.Slice(FrameCodec.HeaderSize + length);
                        if (message is CompressedMessage wrapped)
                        {
                            if (wrapped.RawLength > (uint)MaxIncomingFrameBytes && Compressor is not null)
                            {
                                // Judged like an oversized frame: decompressing it is what the limit forbids.
                                await onOversized(MessageType.Compressed, wrapped.Id, wrapped.RawLength).ConfigureAwait(false);
                                continue;
                            }

                            try
                            {
                                message = Unwrap(wrapped);
                            }
                            catch (MaasProtocolException ex) when (ex.Code != MaasErrorCode.ProtocolError && ex.RequestId != 0)
                            {
                                await onInvalid(ex).ConfigureAwait(false);
                                continue;
                            }
                        }

                        await onMessage(message).ConfigureAwait(false);
                    }

                    midFrame = !buffer.IsEmpty || skipRemaining > 0;
                    bufferedBytes = buffer.Length;
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        if (!buffer.IsEmpty || skipRemaining > 0)
                        {
                            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"The connection ended inside a frame ({buffer.Length} bytes of it received).");
                        }

                        return;
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                    if (holdingFlush && Interlocked.Decrement(ref _senders) == 0)
                    {
                        await FlushPendingAsync().ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            frameTimer?.Dispose();
        }
    }

    // A frame this large is read with ReadAtLeastAsync: the reader fills big buffers and returns
    // once, instead of waking the read loop for every segment. Steps are capped so that a frame
    // timeout still means "too little arrived", and a huge frame is never awaited in one piece.
    private const long LargeFrameReadBytes = 64 * 1024;
    private const long LargeFrameReadStep = 1024 * 1024;

    /// <summary>
    /// Whether a large frame's rest is awaited with ReadAtLeastAsync. Only for stream-backed
    /// readers (sockets): after the reader examined its whole buffer, an in-memory
    /// <see cref="System.IO.Pipelines.Pipe"/>'s ReadAtLeastAsync waits for a new flush even when
    /// enough bytes are already there (the shm:// and inproc:// conformance suites hang on it).
    /// </summary>
    public bool LargeFrameReads { get; init; }

    private ValueTask<ReadResult> ReadAsync(long awaitedBytes, long bufferedBytes, CancellationToken cancellationToken) =>
        LargeFrameReads && awaitedBytes - bufferedBytes >= LargeFrameReadBytes
            ? _input.ReadAtLeastAsync((int)Math.Min(awaitedBytes, bufferedBytes + LargeFrameReadStep), cancellationToken)
            : _input.ReadAsync(cancellationToken);

    /// <summary>
    /// Reads and discards input until the peer closes, <paramref name="maxBytes"/> were read or
    /// <paramref name="limit"/> passed. Closing a socket with unread input makes the kernel send a
    /// reset, which can destroy a final Error still in flight to the peer; reading first avoids it.
    /// </summary>
    public async ValueTask DrainInputAsync(TimeSpan limit, long maxBytes)
    {
        using var timer = new CancellationTokenSource(limit);
        long read = 0;
        try
        {
            while (read < maxBytes)
            {
                var result = await _input.ReadAsync(timer.Token).ConfigureAwait(false);
                read += result.Buffer.Length;
                _input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // Time is up or the connection is gone: close anyway.
        }
    }

    /// <summary>Stops reading (the read loop returns).</summary>
    public void CompleteInput()
    {
        try
        {
            _input.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // Reader already completed.
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
