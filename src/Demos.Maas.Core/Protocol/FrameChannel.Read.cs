using System.Buffers;
using System.IO.Pipelines;

namespace Demos.Maas.Protocol;

/// <summary>The read side of <see cref="FrameChannel"/>: the read loop, large-frame reads, draining.</summary>
internal sealed partial class FrameChannel
{
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
                        throw new TimeoutException($"The next part of a partly received frame did not arrive within {FrameReadTimeout.TotalSeconds:0.#} s.");
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

                        // A large frame's matrices are read in place where the reader lends its buffer.
                        var received = length >= MessageCodec.ViewMinimumBytes ? _lender?.TryLend(payload) : null;
                        MaasMessage message;
                        try
                        {
                            message = MessageCodec.Read(payload, RequestFactory, received);
                        }
                        catch (MaasProtocolException ex) when (ex.Code != MaasErrorCode.ProtocolError && ex.RequestId != 0)
                        {
                            buffer = buffer.Slice(FrameCodec.HeaderSize + length);
                            await onInvalid(ex).ConfigureAwait(false);
                            continue;
                        }
                        finally
                        {
                            received?.Release();
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
    /// Whether a large frame's rest is awaited with ReadAtLeastAsync. Only for socket readers
    /// (<see cref="Transport.MaasConnection.SupportsLargeFrameReads"/>): after the reader examined its whole buffer, an in-memory
    /// <see cref="System.IO.Pipelines.Pipe"/>'s ReadAtLeastAsync waits for a new flush even when
    /// enough bytes are already there (the shm:// and inproc:// conformance suites hang on it).
    /// </summary>
    public bool LargeFrameReads { get; private init; }

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
            var inner = MessageCodec.Read(new ReadOnlySequence<byte>(buffer.AsMemory(0, (int)wrapped.RawLength)), RequestFactory);
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
}
