using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports;

/// <summary>
/// A socket connection whose input is received by a thread of its own (<see cref="SocketReceiveReader"/>)
/// and whose output sends straight to the socket (<see cref="SocketSendWriter"/>). Compiled into each
/// socket transport (shared source).
/// </summary>
/// <remarks>
/// .NET's asynchronous receive wakes the runtime's I/O thread, which hands the completion to a
/// thread-pool worker: two wake-ups per message, a large part of a small call's time on a small
/// machine. Here the kernel wakes the connection's receiving thread directly and the read loop runs
/// on it, as a blocking socket program's would. A slow step in the read loop then holds up only this
/// connection, never the process's other sockets.
/// </remarks>
internal sealed class SocketConnection : MaasConnection
{
    private readonly Socket _socket;
    private readonly SocketReceiveReader _reader;
    private readonly DuplexPipe _pipe;
    private int _disposed;
    private int _aborted;

    public SocketConnection(Socket socket, string remoteAddress, TimeSpan receiveSpin, Action<int> countReceivingThread, bool resumesCallers = false)
    {
        _socket = socket;
        RemoteAddress = remoteAddress;

        // Receives and sends return at once when they would wait: the receiving thread then polls,
        // a send that finds the socket full goes on asynchronously (SocketSendWriter).
        socket.Blocking = false;
        // The connection's user always has a read waiting (for the next message) while it is open,
        // so the thread never ends idle.
        _reader = new SocketReceiveReader(socket, receiveSpin, countReceivingThread, idleEnd: Timeout.InfiniteTimeSpan, resumesCallers: resumesCallers);
        _pipe = new DuplexPipe(_reader, new SocketSendWriter(socket));
    }

    public override IDuplexPipe Transport => _pipe;

    public override string RemoteAddress { get; }

    /// <inheritdoc/>
    public override bool SupportsLargeFrameReads => true;

    public override void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        _reader.Abort();
        SocketConnections.ShutDownAndClose(_socket);
    }

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

        Abort();
    }
}

/// <summary>A socket connection's input and output as one <see cref="IDuplexPipe"/>.</summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}

/// <summary>
/// Told by a <see cref="SocketReceiveReader"/> when the peer hangs up while nothing reads (a server
/// whose request runs), so the request can be cancelled instead of running for nobody.
/// </summary>
internal interface IPeerHangupWatch
{
    /// <summary>
    /// Looks whether the peer closed or reset the connection and, if so, acts on it and returns
    /// true (the reader then asks no more). Called on the receiving thread under the reader's lock,
    /// so what it does must be quick (queue the work).
    /// </summary>
    bool PeerHungUp();
}

/// <summary>
/// The input of a <see cref="SocketConnection"/>. A dedicated thread receives only while a read waits
/// (so unread bytes stay in the kernel, which holds the sender back), into one contiguous buffer that
/// grows to what <see cref="PipeReader.ReadAtLeastAsync"/> asks for, and completes the read on
/// itself: the read loop runs on the receiving thread. A reader that stops reading for a while can
/// let the thread end (idleEnd); the next read then starts another.
/// </summary>
internal sealed class SocketReceiveReader : SingleWaiterPipeReader, IReceiveBufferLender, IReceiverResumption
{
    private const int InitialBufferBytes = 64 * 1024;
    private const int MinimumReceiveBytes = 16 * 1024;

    // A buffer grown for a large frame is kept up to this size while the connection lives.
    private const int MaxKeptBufferBytes = 1024 * 1024;

    /// <summary>How often a parked receiving thread with an <see cref="IPeerHangupWatch"/> asks it whether the peer hung up.</summary>
    public static readonly TimeSpan PeerCheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly Socket _socket;
    private readonly TimeSpan _spinTime;
    private readonly Action<int> _countThread;
    private readonly TimeSpan _idleEnd;
    private readonly Segment _segment;

    // While no read waits (a server's request runs, nothing reads), the parked thread asks it every
    // PeerCheckInterval whether the peer hung up, until it did.
    private readonly IPeerHangupWatch? _hangupWatch;
    private bool _hungUp;

    // The buffer holds the stream's bytes [_consumed, _received) from _buffer[_offset]. Only the
    // receiving thread moves or replaces the buffer, and only while no buffer is out.
    private byte[] _buffer;
    private int _offset;

    // Set once the frame decoder read matrices of _buffer in place (TryLend): the next receive goes
    // into another buffer, and _buffer goes back to the pool when the last view lets go of it.
    private ReceivedBuffer? _lent;
    private long _consumed;
    private long _examined;
    private long _received;

    private bool _ended;
    private bool _parked;

    // A receiving thread runs. It ends after _idleEnd without a read (an HTTP client's pooled
    // connection between requests), and the next read starts another.
    private bool _threadRuns = true;

    // Hand-over (_handOver): while the receiving thread runs the reader's code (_inCallback, the
    // _callbackNumber-th time), no read can be received; a read that waits that long is watched by
    // the ReceiveWatchdog, which starts a thread of the next _generation to take over receiving.
    // The busy thread ends when the reader's code returns to it.
    private readonly bool _handOver;

    // Resumption (with hand-over): the receiving thread completing a read takes one caller to resume
    // and runs it once the read loop waits again.
    private readonly ResumedCallerSlot? _resumed;
    private bool _inCallback;
    private long _callbackNumber;
    private int _generation;
    private Exception? _error;

    // The application and the receiving thread; the buffer goes back to the pool when both let go.
    private int _holders = 2;

    /// <param name="socket">The connected socket, non-blocking.</param>
    /// <param name="spinTime">How long a waiting read retries the socket before the thread sleeps in poll (<see cref="SpinWindow"/>), and how long the thread waits awake for the next read before it parks.</param>
    /// <param name="countReceivingThread">Called with +1 when another receiving thread starts (after an idle end, or to take over from a busy one), -1 when one ends (the first start is counted by the caller).</param>
    /// <param name="idleEnd">How long the receiving thread sleeps without a read before it ends (<see cref="Timeout.InfiniteTimeSpan"/>: never).</param>
    /// <param name="handOverWhenBusy">A read that waits while the receiving thread runs the reader's code (which may block, or wait for this very read) is taken over by a new receiving thread after <see cref="ReceiveWatchdog.HandOverDelay"/>.</param>
    /// <param name="resumesCallers">The receiving thread resumes a caller the read loop gives it (<see cref="TryResume"/>) once the read loop waits again; implies <paramref name="handOverWhenBusy"/>, since the caller may block there.</param>
    /// <param name="hangupWatch">Asked every <see cref="PeerCheckInterval"/> while no read waits whether the peer hung up, until it did; the thread then never ends idle.</param>
    public SocketReceiveReader(Socket socket, TimeSpan spinTime, Action<int> countReceivingThread, TimeSpan idleEnd, bool handOverWhenBusy = false, bool resumesCallers = false, IPeerHangupWatch? hangupWatch = null)
    {
        _hangupWatch = hangupWatch;
        _resumed = resumesCallers ? new ResumedCallerSlot() : null;
        _socket = socket;
        _spinTime = spinTime;
        _countThread = countReceivingThread;
        _idleEnd = idleEnd;
        _handOver = handOverWhenBusy || resumesCallers;
        _segment = new Segment(this);
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
        StartThread(0);
    }

    /// <summary>
    /// From the read loop on the receiving thread: takes the caller to resume once the read loop
    /// waits again. The caller then runs where the reader's code runs: a read that waits meanwhile
    /// is taken over by a new receiving thread after <see cref="ReceiveWatchdog.HandOverDelay"/>.
    /// </summary>
    public bool TryResume(IThreadPoolWorkItem work) => _resumed?.TryTake(work) == true;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        BeginRead(0, cancellationToken);

    protected override ValueTask<ReadResult> ReadAtLeastAsyncCore(int minimumSize, CancellationToken cancellationToken) =>
        BeginRead(Math.Max(1, minimumSize), cancellationToken);

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        bool release;
        lock (Gate)
        {
            var (consumedAt, examinedAt) = BeginAdvanceLocked(consumed, examined, _consumed, _received);
            _offset += (int)(consumedAt - _consumed);
            _consumed = consumedAt;
            _examined = Math.Max(_examined, examinedAt);
            release = Completed;
        }

        if (release)
        {
            Release();
        }
    }

    public ReceivedBuffer? TryLend(ReadOnlySequence<byte> frame)
    {
        lock (Gate)
        {
            if (!Reading
                || !frame.IsSingleSegment
                || !MemoryMarshal.TryGetArray(frame.First, out var bytes)
                || !ReferenceEquals(bytes.Array, _buffer))
            {
                return null;
            }

            // One reference for the reader (released when it moves to another buffer), one for the caller.
            _lent ??= new ReceivedBuffer(_buffer);
            _lent.Retain();
            return _lent;
        }
    }

    public override void Complete(Exception? exception = null)
    {
        bool wasWaiting;
        bool release;
        bool releaseForThread;
        lock (Gate)
        {
            if (Completed)
            {
                return;
            }

            Completed = true;
            wasWaiting = Waiting;
            Waiting = false;
            release = !Reading;
            releaseForThread = !_threadRuns;
            if (_parked)
            {
                Monitor.Pulse(Gate);
            }
        }

        if (wasWaiting)
        {
            CompleteWaiter(default, new InvalidOperationException("The reader was completed while a read was waiting."));
        }

        if (release)
        {
            Release();
        }

        // A thread that ended idle kept its hold on the buffer for the next one; none will start now.
        if (releaseForThread)
        {
            Release();
        }
    }

    /// <summary>The connection was aborted: the waiting read and every later one fail, and the receiving thread ends.</summary>
    public void Abort()
    {
        Exception error;
        bool wasWaiting;
        lock (Gate)
        {
            _error ??= new ObjectDisposedException(nameof(SocketConnection), "The connection was aborted.");
            error = _error;
            wasWaiting = Waiting;
            Waiting = false;
            if (_parked)
            {
                Monitor.Pulse(Gate);
            }
        }

        if (wasWaiting)
        {
            CompleteWaiter(default, error);
        }
    }

    private ValueTask<ReadResult> BeginRead(long minimum, CancellationToken cancellationToken)
    {
        ValueTask<ReadResult> read;
        bool start = false;
        long watch = 0;
        int generation;
        lock (Gate)
        {
            ThrowIfUnreadableLocked();
            read = ReadLocked(minimum, cancellationToken);
            generation = _generation;

            // Called from another thread than the receiving one (which, when it runs the read loop, is not parked).
            if (Waiting && _parked)
            {
                Monitor.Pulse(Gate);
            }
            else if (Waiting && !_threadRuns)
            {
                _threadRuns = true;
                start = true;
            }
            else if (Waiting && _inCallback)
            {
                // Usually the reader's code is about to return to the thread (it awaits this read).
                watch = _callbackNumber;
            }
        }

        if (start)
        {
            StartAgain(generation);
        }
        else if (watch != 0)
        {
            ReceiveWatchdog.Watch(this, watch);
        }

        return read;
    }

    /// <summary>
    /// For the <see cref="ReceiveWatchdog"/>: whether it can stop watching the read that waited while
    /// the receiving thread ran the reader's code for the <paramref name="callbackNumber"/>-th time
    /// (the code returned, or the read ended); if not and <paramref name="due"/>, a new thread takes
    /// over receiving (and it can stop too).
    /// </summary>
    internal bool HandOverIfStillBusy(long callbackNumber, bool due)
    {
        int generation;
        lock (Gate)
        {
            if (!_inCallback || _callbackNumber != callbackNumber || !Waiting || Completed || _error is not null)
            {
                return true;
            }

            if (!due)
            {
                return false;
            }

            generation = ++_generation;
            _inCallback = false;
        }

        StartAgain(generation);
        return true;
    }

    private void StartThread(int generation)
    {
        ReceivingThreads.Start(
            "maas socket receive",
            static s =>
            {
                var (reader, generation) = ((SocketReceiveReader, int))s!;
                reader.Receive(generation);
            },
            (this, generation));
    }

    // A read waits and the thread had ended idle, or is busy with the reader's code (a hand-over).
    private void StartAgain(int generation)
    {
        _countThread(+1);
        try
        {
            StartThread(generation);
        }
        catch (Exception ex) when (ex is OutOfMemoryException or ThreadStartException)
        {
            _countThread(-1);
            bool wasWaiting;
            Exception error;
            lock (Gate)
            {
                _threadRuns = false;
                _error ??= new IOException("No thread could be started to receive from the connection.", ex);
                error = _error;
                wasWaiting = Waiting;
                Waiting = false;
            }

            if (wasWaiting)
            {
                CompleteWaiter(default, error);
            }
        }
    }

    // Under the gate. A result is due for a pending cancel, enough bytes, the end of the stream or an error.
    protected override bool TryTakeLocked(out ReadResult result)
    {
        if (_error is not null && !CancelPending)
        {
            ExceptionDispatchInfo.Throw(_error);
        }

        if (CancelPending || _ended || Satisfied())
        {
            bool canceled = CancelPending;
            CancelPending = false;
            int length = (int)(_received - _consumed);
            _segment.Reset(_buffer.AsMemory(_offset, length), _consumed);
            result = new ReadResult(new ReadOnlySequence<byte>(_segment, 0, _segment, length), isCanceled: canceled, isCompleted: _ended && !canceled);
            Reading = true;
            return true;
        }

        result = default;
        return false;
    }

    private bool Satisfied() => MinimumBytes > 0 ? _received - _consumed >= MinimumBytes : _received > _examined;

    private void Receive(int generation)
    {
        bool endedIdle = false;
        bool handedOver = false;
        try
        {
            while (true)
            {
                int at;
                int room;

                // The next read usually follows soon (the caller's next call): wait for it awake
                // before parking, as for bytes below.
                var idle = SpinWindow.Of(_spinTime);
                while (!Waiting && !Completed && idle.Spin())
                {
                }

                lock (Gate)
                {
                    while (!Completed && _error is null && !Waiting)
                    {
                        bool watchPeer = _hangupWatch is not null && !_hungUp;
                        _parked = true;
                        bool woken = Monitor.Wait(Gate, watchPeer ? PeerCheckInterval : _idleEnd);
                        _parked = false;
                        if (watchPeer)
                        {
                            if (!woken && !Completed && _error is null && !Waiting)
                            {
                                _hungUp = _hangupWatch!.PeerHungUp();
                            }

                            continue;
                        }

                        if (!woken && !Completed && _error is null && !Waiting)
                        {
                            // No read for a while: free the thread; the next read starts another.
                            _threadRuns = false;
                            endedIdle = true;
                            return;
                        }
                    }

                    if (Completed || _error is not null)
                    {
                        return;
                    }

                    (at, room) = MakeRoom();
                }

                int received = ReceiveSome(at, room, out var failure);
                ReadResult result = default;
                Exception? error = null;
                bool complete = false;
                lock (Gate)
                {
                    if (failure is not null)
                    {
                        _error ??= failure;
                    }
                    else if (received == 0)
                    {
                        _ended = true;
                    }
                    else
                    {
                        _received += received;
                    }

                    if (Waiting && (_error is not null || _ended || Satisfied()))
                    {
                        Waiting = false;
                        complete = true;
                        if (_handOver)
                        {
                            _inCallback = true;
                            _callbackNumber++;
                        }

                        if (_error is not null)
                        {
                            error = _error;
                        }
                        else
                        {
                            TryTakeLocked(out result);
                        }
                    }
                }

                if (complete)
                {
                    // The read loop continues here, until it waits for more; then the caller it gave
                    // this thread resumes, still counted as the reader's code (a read that waits
                    // that long is taken over).
                    _resumed?.BeginCompletion();
                    try
                    {
                        CompleteWaiter(result, error);
                    }
                    finally
                    {
                        _resumed?.EndCompletion();
                    }

                    _resumed?.Take()?.Execute();

                    if (_handOver)
                    {
                        lock (Gate)
                        {
                            if (_generation == generation)
                            {
                                _inCallback = false;
                            }
                            else
                            {
                                // Another thread took over while the reader's code ran here.
                                handedOver = true;
                                return;
                            }
                        }
                    }
                }

                if (failure is not null || received == 0)
                {
                    return;
                }
            }
        }
        finally
        {
            // A thread ending idle keeps the buffer (and any bytes in it) for the next one; one that
            // handed over leaves it to the thread that took over.
            if (!endedIdle && !handedOver)
            {
                Release();
            }

            _countThread(-1);
        }
    }

    // Under the gate, on the receiving thread, with no buffer out: space for the next receive, at
    // least what a ReadAtLeastAsync still misses. Returns where to receive and how much.
    private (int At, int Room) MakeRoom()
    {
        int buffered = (int)(_received - _consumed);
        if (_lent is not null)
        {
            // Views read the lent buffer in place: never write into it again. A buffer of the same
            // size (up to what is kept) usually comes back from the pool, given back by earlier views.
            var fresh = ArrayPool<byte>.Shared.Rent(Math.Max(buffered, Math.Max(InitialBufferBytes, Math.Min(_buffer.Length, MaxKeptBufferBytes))));
            Buffer.BlockCopy(_buffer, _offset, fresh, 0, buffered);
            _lent.Release();
            _lent = null;
            _buffer = fresh;
            _offset = 0;
        }

        if (buffered == 0)
        {
            _offset = 0;
        }

        long need = Math.Max(MinimumReceiveBytes, MinimumBytes - buffered);
        if (_buffer.Length - _offset - buffered < need)
        {
            if (_buffer.Length - buffered >= need && _buffer.Length <= MaxKeptBufferBytes)
            {
                Buffer.BlockCopy(_buffer, _offset, _buffer, 0, buffered);
            }
            else
            {
                var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(InitialBufferBytes, buffered + need)));
                Buffer.BlockCopy(_buffer, _offset, grown, 0, buffered);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = grown;
            }

            _offset = 0;
        }
        else if (buffered == 0 && _buffer.Length > MaxKeptBufferBytes && need <= InitialBufferBytes)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
        }

        int at = _offset + buffered;
        return (at, _buffer.Length - at);
    }

    // Outside the gate: the application may read the buffered bytes meanwhile, never these.
    private int ReceiveSome(int at, int room, out Exception? failure)
    {
        failure = null;
        var spin = SpinWindow.Of(_spinTime);
        try
        {
            while (true)
            {
                int n = _socket.Receive(_buffer, at, room, SocketFlags.None, out var error);
                if (error == SocketError.Success)
                {
                    return n;
                }

                if (error != SocketError.WouldBlock)
                {
                    failure = new IOException($"Unable to read data from the transport connection: {new SocketException((int)error).Message}.", new SocketException((int)error));
                    return 0;
                }

                if (spin.Spin())
                {
                    continue;
                }

                // The kernel wakes this thread when bytes arrive, the peer closes or the socket is shut down.
                _socket.Poll(-1, SelectMode.SelectRead);
            }
        }
        catch (ObjectDisposedException ex)
        {
            failure = ex;
            return 0;
        }
        catch (SocketException ex)
        {
            failure = new IOException($"Unable to read data from the transport connection: {ex.Message}.", ex);
            return 0;
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            if (_lent is { } lent)
            {
                lent.Release();
            }
            else
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }
        }
    }
}
