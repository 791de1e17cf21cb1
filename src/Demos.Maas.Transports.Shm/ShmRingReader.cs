using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// The input of a shm:// connection: its buffer is the incoming ring itself, so a frame is decoded
/// where the peer wrote it, and ring space is given back as the application consumes. A frame larger
/// than the ring cannot lie in it whole: once the ring is full and every byte of it was examined,
/// its bytes move to a pooled spill buffer (the buffer is then the spill followed by the ring) until
/// the application has consumed past them.
/// </summary>
/// <remarks>
/// Positions are stream positions, the same numbers as the ring's. The connection's receiving thread
/// calls <see cref="Wake"/> when bytes arrive for a waiting read; a read that finds bytes completes at
/// once. The reader holds a reference on the mapping until it is completed and no buffer is out.
/// </remarks>
internal sealed class ShmRingReader : SingleWaiterPipeReader, IReceiverResumption
{
    private const int MinimumSpillBytes = 64 * 1024;

    private readonly ShmConnection _connection;
    private readonly ShmRing _ring;
    private readonly Memory<byte> _data;
    private readonly Segment _spillSegment;
    private readonly Segment _ringFirst;
    private readonly Segment _ringSecond;

    // _consumed ≤ _ringTail ≤ ring head; the spill holds the bytes from _consumed to _ringTail.
    private long _consumed;
    private long _examined;
    private long _ringTail;
    private long _bufferEnd;
    private byte[]? _spill;
    private int _spillStart;

    private bool _released;
    private Exception? _error;

    public ShmRingReader(ShmConnection connection, ShmRing ring, Memory<byte> data)
    {
        _connection = connection;
        _ring = ring;
        _data = data;
        _consumed = _examined = _ringTail = _bufferEnd = ring.ReadPosition;
        _spillSegment = new Segment(this);
        _ringFirst = new Segment(this);
        _ringSecond = new Segment(this);
    }

    /// <summary>A read is waiting for bytes (the receiving thread watches the ring for it).</summary>
    public bool IsWaiting => Waiting;

    /// <summary>The application completed the reader: what arrives from now on is dropped.</summary>
    public bool IsCompleted => Completed;

    /// <summary>Bytes arrived that the waiting read has not examined.</summary>
    public bool HasNewBytes => _ring.WritePosition > Volatile.Read(ref _examined);

    /// <summary>The receiving thread resumes a caller once the read loop waits again (see <see cref="ShmConnection"/>).</summary>
    public bool TryResume(IThreadPoolWorkItem work) => _connection.TryResume(work);

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ValueTask<ReadResult> read;
        lock (Gate)
        {
            ThrowIfUnreadableLocked();
            read = ReadLocked(0, cancellationToken);
            if (!Waiting)
            {
                return read;
            }
        }

        // The receiving thread may be asleep; once the connection closes it may have gone: then look once more here.
        _connection.WakeReceiver();
        if (_connection.Closing)
        {
            Wake();
        }

        return read;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        bool wakePeer = false;
        bool release = false;
        lock (Gate)
        {
            var (consumedAt, examinedAt) = BeginAdvanceLocked(consumed, examined, _consumed, _bufferEnd);
            Volatile.Write(ref _examined, examinedAt);
            if (consumedAt > _consumed)
            {
                if (consumedAt <= _ringTail)
                {
                    _spillStart += (int)(consumedAt - _consumed);
                }
                else
                {
                    _ringTail = consumedAt;
                    wakePeer = _ring.Release(consumedAt);
                }

                _consumed = consumedAt;
                if (_consumed == _ringTail)
                {
                    ReturnSpill();
                }
            }

            if (Completed)
            {
                wakePeer |= DiscardLocked();
                release = ReleaseOnce();
            }
        }

        Notify(wakePeer, release);
    }

    public override void Complete(Exception? exception = null)
    {
        bool release;
        bool wasWaiting;
        bool wakePeer;
        lock (Gate)
        {
            if (Completed)
            {
                return;
            }

            Completed = true;
            wasWaiting = Waiting;
            Waiting = false;

            // Whatever waits in the ring is dropped, so a peer blocked on a full ring can finish; while
            // the application still holds a buffer, that waits for its AdvanceTo.
            wakePeer = !Reading && DiscardLocked();
            release = !Reading && ReleaseOnce();
        }

        if (wasWaiting)
        {
            CompleteWaiter(default, new InvalidOperationException("The reader was completed while a read was waiting."));
        }

        Notify(wakePeer, release);
    }

    /// <summary>Fails the waiting read and every later one (the connection was aborted).</summary>
    public void Fail(Exception error)
    {
        bool wasWaiting;
        lock (Gate)
        {
            _error ??= error;
            wasWaiting = Waiting;
            Waiting = false;
        }

        if (wasWaiting)
        {
            CompleteWaiter(default, error);
        }
    }

    /// <summary>Completes the waiting read if there is something for it: new bytes, the end, or a full ring to spill. True if it did.</summary>
    public bool Wake()
    {
        ReadResult result;
        lock (Gate)
        {
            if (!Waiting || !TryTakeLocked(out result))
            {
                return false;
            }

            Waiting = false;
        }

        CompleteWaiter(result, null);
        return true;
    }

    /// <summary>
    /// After the application completed the reader, or the connection was aborted: releases what arrived (the receiving thread calls
    /// it; it holds its own reference on the mapping). True if anything was released.
    /// </summary>
    public bool Discard()
    {
        bool wakePeer;
        lock (Gate)
        {
            if ((!Completed && _error is null) || Reading || _ring.WritePosition == _ringTail)
            {
                return false;
            }

            wakePeer = DiscardLocked();
        }

        Notify(wakePeer, release: false);
        return true;
    }

    // Under the gate, with no buffer out: drops everything received; true if the peer waits for space.
    private bool DiscardLocked()
    {
        long head = _ring.WritePosition;
        _consumed = _ringTail = _bufferEnd = head;
        Volatile.Write(ref _examined, head);
        ReturnSpill();
        return _ring.Release(head);
    }

    // Under the gate. A result is due for a pending cancel, new bytes or the end of the stream.
    protected override bool TryTakeLocked(out ReadResult result)
    {
        // Closed is read before the head: every byte written before the close is then seen.
        bool closing = _connection.Closing;
        long head = _ring.WritePosition;
        if (!closing && head - _ringTail >= _ring.Size && _examined >= head)
        {
            Spill(head);
        }

        if (head > _examined || closing || CancelPending)
        {
            bool canceled = CancelPending;
            CancelPending = false;
            _bufferEnd = head;
            result = new ReadResult(Buffer(head), isCanceled: canceled, isCompleted: closing && !canceled);
            Reading = true;
            return true;
        }

        result = default;
        return false;
    }

    // Under the gate: the ring is full of bytes the application examined and did not consume (a frame
    // larger than the ring). They move to the spill, and the ring is given back to the peer.
    private void Spill(long head)
    {
        int held = (int)(_ringTail - _consumed);
        int incoming = (int)(head - _ringTail);
        if (_spill is null || _spillStart + held + incoming > _spill.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(MinimumSpillBytes, 2 * (held + incoming)));
            _spill?.AsSpan(_spillStart, held).CopyTo(grown);
            if (_spill is not null)
            {
                ArrayPool<byte>.Shared.Return(_spill);
            }

            _spill = grown;
            _spillStart = 0;
        }

        _ring.Peek(_ringTail, _spill.AsSpan(_spillStart + held, incoming));
        _ringTail = head;
        if (_ring.Release(head))
        {
            _connection.WakePeer();
        }
    }

    // Under the gate: the spill's bytes (if any), then the ring's from _ringTail to head (two pieces when they wrap).
    private ReadOnlySequence<byte> Buffer(long head)
    {
        Segment? first = null;
        Segment? last = null;
        int held = (int)(_ringTail - _consumed);
        if (held > 0)
        {
            _spillSegment.Reset(_spill.AsMemory(_spillStart, held), _consumed);
            first = last = _spillSegment;
        }

        long inRing = head - _ringTail;
        if (inRing > 0 || first is null)
        {
            int size = _ring.Size;
            int at = (int)(_ringTail & (size - 1));
            int firstPiece = (int)Math.Min(inRing, size - at);
            _ringFirst.Reset(_data.Slice(at, firstPiece), _ringTail);
            first ??= _ringFirst;
            last?.Link(_ringFirst);
            last = _ringFirst;
            if (firstPiece < inRing)
            {
                _ringSecond.Reset(_data[..(int)(inRing - firstPiece)], _ringTail + firstPiece);
                last.Link(_ringSecond);
                last = _ringSecond;
            }
        }

        return new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    protected override void ThrowIfUnreadableLocked()
    {
        if (!Completed && _error is not null)
        {
            ExceptionDispatchInfo.Throw(_error);
        }

        base.ThrowIfUnreadableLocked();
    }

    private void ReturnSpill()
    {
        if (_spill is not null)
        {
            ArrayPool<byte>.Shared.Return(_spill);
            _spill = null;
            _spillStart = 0;
        }
    }

    private bool ReleaseOnce()
    {
        if (_released)
        {
            return false;
        }

        _released = true;
        ReturnSpill();
        return true;
    }

    private void Notify(bool wakePeer, bool release)
    {
        if (wakePeer)
        {
            _connection.WakePeer();
        }

        if (release)
        {
            _connection.Release();
        }
    }
}
