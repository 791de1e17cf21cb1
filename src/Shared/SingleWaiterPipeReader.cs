using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Demos.Maas.Transports;

/// <summary>
/// What a pipe reader fed by a receiving thread of its own needs around its buffer: the one waiting
/// read (a reusable value-task source that completes on the thread that completes it, so the read
/// loop continues there), its cancellation, <see cref="PipeReader.CancelPendingRead"/>, and the
/// checks of the read/advance protocol. Compiled into each transport that has such a reader
/// (shared source): the socket connections' and the shared-memory ring's.
/// </summary>
/// <remarks>
/// State is guarded by <see cref="Gate"/>. The subclass says when a read has something
/// (<see cref="TryTakeLocked"/>); whoever changes <see cref="Waiting"/> from true to false completes
/// the waiter, exactly once per wait.
/// </remarks>
internal abstract class SingleWaiterPipeReader : PipeReader, IValueTaskSource<ReadResult>
{
    private ManualResetValueTaskSourceCore<ReadResult> _source;
    private CancellationTokenRegistration _cancelRegistration;
    private volatile bool _waiting;
    private volatile bool _completed;

    protected SingleWaiterPipeReader()
    {
        // The read loop runs on the thread that completes the read: the receiving thread.
        _source.RunContinuationsAsynchronously = false;
    }

    /// <summary>Guards the reader's state (an object, so a receiving thread can also park on it).</summary>
    protected object Gate { get; } = new();

    /// <summary>A read waits for its result. Read without the gate by receiving threads deciding whether to look.</summary>
    protected bool Waiting
    {
        get => _waiting;
        set => _waiting = value;
    }

    /// <summary>The application holds the buffer of the last read (until its <c>AdvanceTo</c>).</summary>
    protected bool Reading { get; set; }

    /// <summary>The application completed the reader.</summary>
    protected bool Completed
    {
        get => _completed;
        set => _completed = value;
    }

    /// <summary>A <see cref="CancelPendingRead"/> that the next read answers (as canceled).</summary>
    protected bool CancelPending { get; set; }

    /// <summary>
    /// What the current read needs: 0 for any byte past the examined ones, else this many bytes
    /// buffered (<c>ReadAtLeastAsync</c>, for readers that answer it themselves).
    /// </summary>
    protected long MinimumBytes { get; private set; }

    /// <summary>Under the gate: the result due now (for a pending cancel, new bytes, the end or a failure), or false.</summary>
    protected abstract bool TryTakeLocked(out ReadResult result);

    public override bool TryRead(out ReadResult result)
    {
        lock (Gate)
        {
            ThrowIfUnreadableLocked();
            MinimumBytes = 0;
            return TryTakeLocked(out result);
        }
    }

    public override void CancelPendingRead()
    {
        ReadResult result;
        lock (Gate)
        {
            CancelPending = true;
            if (!Waiting)
            {
                return;
            }

            Waiting = false;
            TryTakeLocked(out result);
        }

        CompleteWaiter(result, null);
    }

    /// <summary>
    /// Under the gate, after <see cref="ThrowIfUnreadableLocked"/>: a read of at least
    /// <paramref name="minimum"/> bytes (0: any new byte); the result at once if one is due, else the
    /// wait for it (<see cref="Waiting"/> is then true).
    /// </summary>
    protected ValueTask<ReadResult> ReadLocked(long minimum, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<ReadResult>(cancellationToken);
        }

        MinimumBytes = minimum;

        if (TryTakeLocked(out var result))
        {
            return new ValueTask<ReadResult>(result);
        }

        _source.Reset();
        short token = _source.Version;
        Waiting = true;
        if (cancellationToken.CanBeCanceled)
        {
            _cancelRegistration = cancellationToken.UnsafeRegister(static (state, ct) => ((SingleWaiterPipeReader)state!).CancelWait(ct), this);
        }

        return new ValueTask<ReadResult>(this, token);
    }

    /// <summary>Under the gate: a new read is allowed (not completed, no buffer out, no read waiting).</summary>
    protected virtual void ThrowIfUnreadableLocked()
    {
        if (Completed)
        {
            throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        }

        if (Reading || Waiting)
        {
            throw new InvalidOperationException("A read is already in progress: call AdvanceTo first.");
        }
    }

    /// <summary>
    /// Under the gate, at the start of <c>AdvanceTo</c>: the stream positions of <paramref name="consumed"/>
    /// and <paramref name="examined"/>, checked to lie in the last buffer read (from
    /// <paramref name="bufferStart"/> to <paramref name="bufferEnd"/>) in that order. The buffer is
    /// given back.
    /// </summary>
    protected (long Consumed, long Examined) BeginAdvanceLocked(SequencePosition consumed, SequencePosition examined, long bufferStart, long bufferEnd)
    {
        if (!Reading)
        {
            throw new InvalidOperationException("AdvanceTo was called without a read in progress.");
        }

        long consumedAt = PositionOf(consumed);
        long examinedAt = PositionOf(examined);
        if (consumedAt < bufferStart || examinedAt < consumedAt || examinedAt > bufferEnd)
        {
            throw new ArgumentOutOfRangeException(nameof(consumed), "The positions are not inside the last buffer read, or examined is before consumed.");
        }

        Reading = false;
        return (consumedAt, examinedAt);
    }

    /// <summary>Completes the wait. Called by whoever set <see cref="Waiting"/> from true to false: exactly once per wait.</summary>
    protected void CompleteWaiter(ReadResult result, Exception? error)
    {
        var registration = _cancelRegistration;
        _cancelRegistration = default;
        registration.Dispose();
        if (error is null)
        {
            _source.SetResult(result);
        }
        else
        {
            _source.SetException(error);
        }
    }

    private long PositionOf(SequencePosition position) => position.GetObject() is Segment segment && segment.Owner == this
        ? segment.RunningIndex + position.GetInteger()
        : throw new ArgumentException("The position does not belong to the buffer this reader returned.", nameof(position));

    private void CancelWait(CancellationToken cancellationToken)
    {
        lock (Gate)
        {
            if (!Waiting)
            {
                return;
            }

            Waiting = false;
        }

        CompleteWaiter(default, new OperationCanceledException(cancellationToken));
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _source.OnCompleted(continuation, state, token, flags);

    /// <summary>A piece of a buffer this reader hands out, reused from read to read.</summary>
    protected sealed class Segment(SingleWaiterPipeReader owner) : ReadOnlySequenceSegment<byte>
    {
        public SingleWaiterPipeReader Owner { get; } = owner;

        public void Reset(ReadOnlyMemory<byte> memory, long position)
        {
            Memory = memory;
            RunningIndex = position;
            Next = null;
        }

        public void Link(Segment next) => Next = next;
    }
}
