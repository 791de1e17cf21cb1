using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// One shm:// connection as a byte stream. The application writes into the outgoing ring and reads
/// from the incoming ring in place (<see cref="ShmRingWriter"/>, <see cref="ShmRingReader"/>): a frame
/// is copied once, by its encoder, on its way from one process to the other. A dedicated thread per
/// connection waits for the peer (spins briefly, then sleeps on a futex) and completes the waiting
/// read; the rendezvous socket stays open only so that the death of the peer process is seen at
/// once (end of stream).
/// </summary>
/// <remarks>
/// A client's receiving thread also resumes the caller whose answer it just read
/// (<see cref="TryResume"/>): the caller then runs on a thread that is awake already, instead of
/// waiting for a thread-pool worker to wake. While it does, receiving is handed to a second thread
/// of the connection (started on the first hand-over), which sleeps on the same futex and is woken
/// by the peer's next ring only if the caller is still running then, so a caller that runs long
/// holds up no other answer and a quick one costs no wake-up. The two threads swap roles as they go.
/// </remarks>
internal sealed class ShmConnection : MaasConnection
{
    private const int SleepMilliseconds = 1000;

    // Turns of a wait that check the ring without giving up the core, about 50 ns each here (a
    // yielding turn takes about 530 ns, so the answer of a quick peer was noticed late): a 1-point
    // call took 2.5-2.6 µs with them, 3.0-3.1 µs without. Over sockets, where a turn is a receive
    // call, the same turns cost 64 callers a fifth of their calls, so only shm:// has them.
    private const int PauseTurns = 64;

    private readonly ShmRegion _region;
    private readonly Socket _socket;
    private readonly ShmRing _in;
    private readonly ShmRing _out;
    private readonly Doorbell _myBell;
    private readonly Doorbell _peerBell;
    private readonly ShmRingReader _reader;
    private readonly ShmRingWriter _writer;
    private readonly DuplexPipe _pipe;
    private readonly TimeSpan _spinTime;
    private TaskCompletionSource? _spaceWaiter;

    // The receiving role (1 while a thread holds it), the caller its holder took while completing a
    // read, and whether a thread runs one.
    private int _receiverRole;
    private readonly ResumedCallerSlot _resumed = new();
    private int _resuming;
    private bool _hasStandby;
    private int _readFailed;
    private int _refs = 1;
    private int _closing;
    private int _aborted;
    private int _sending;
    private int _disposed;

    public ShmConnection(ShmRegion region, Socket socket, bool isServer, string remoteAddress, TimeSpan spin)
    {
        _region = region;
        _socket = socket;
        RemoteAddress = remoteAddress;
        (_in, _out) = isServer ? (region.Requests, region.Responses) : (region.Responses, region.Requests);
        (_myBell, _peerBell) = isServer ? (region.ServerBell, region.ClientBell) : (region.ClientBell, region.ServerBell);
        _spinTime = spin;
        _reader = new ShmRingReader(this, _in, isServer ? region.RequestMemory : region.ResponseMemory);
        _writer = new ShmRingWriter(this, _out, isServer ? region.ResponseMemory : region.RequestMemory);
        _pipe = new DuplexPipe(_reader, _writer);

        _refs = 4; // the owner, the receiving thread, the reader, the writer
        var receiver = new Thread(ReceivingThread) { IsBackground = true, Name = "maas shm receive" };
        receiver.Start();
        _ = WatchPeerAsync();
    }

    public override IDuplexPipe Transport => _pipe;

    public override string RemoteAddress { get; }

    /// <summary>A frame is written in the pieces the ring hands out, not into one buffer the size of the frame.</summary>
    public override bool WritesWholeFrames => false;

    /// <summary>A flush publishes the ring's new head; it makes the wake system call only when the peer sleeps.</summary>
    public override bool FlushesWithoutSystemCall => true;

    /// <summary>Either side closed; callers hold a reference on the mapping.</summary>
    internal bool Closing => Volatile.Read(ref _closing) != 0 || _region.Closed;

    /// <summary>Wakes the receiving thread (a read began to wait).</summary>
    internal void WakeReceiver() => _myBell.Ring();

    /// <summary>Wakes the peer: bytes were published, or space freed that it waits for.</summary>
    internal void WakePeer() => _peerBell.Ring();

    /// <summary>A flush is copying into the ring (an abort lets it finish first).</summary>
    internal void SetSending(bool sending) => Volatile.Write(ref _sending, sending ? 1 : 0);

    public override void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        // Like a socket's abort, what the application already flushed still reaches the peer (a
        // server closes with a final answer, then aborts); reading fails at once. Only thread-safe
        // calls here: the application may be reading or writing right now.
        if (TryAddRef())
        {
            try
            {
                _myBell.RingHard();
            }
            finally
            {
                Release();
            }
        }

        _ = CloseAfterSendingAsync();
    }

    private async Task CloseAfterSendingAsync()
    {
        var limit = Stopwatch.StartNew();
        while (Volatile.Read(ref _sending) != 0 && limit.Elapsed < TimeSpan.FromSeconds(2))
        {
            await Task.Delay(5).ConfigureAwait(false);
        }

        Close();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Let what the application wrote reach the ring (the peer may still read it), then close.
        await Task.WhenAny(_writer.CompleteAsync().AsTask(), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        Close();
        _reader.Complete();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The peer is gone already.
        }

        _socket.Dispose();
        Release();
    }

    // Both sides see the end: the shared flag for the peer, the doorbells for both waiting threads.
    private void Close()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0 || !TryAddRef())
        {
            return;
        }

        try
        {
            _region.MarkClosed();
            _peerBell.RingHard();
            _myBell.RingHard();
        }
        finally
        {
            Release();
        }

        Interlocked.Exchange(ref _spaceWaiter, null)?.TrySetResult();
    }

    // The peer process died (its end of the socket closed with it) or closed: wake our waiters.
    private async Task WatchPeerAsync()
    {
        var buffer = new byte[1];
        try
        {
            while (await _socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false) > 0)
            {
                // Nothing is sent after the rendezvous; ignore stray bytes.
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Same as end of stream.
        }

        Close();
    }

    /// <summary>
    /// From the read loop on the receiving thread: takes the caller to resume once the read loop
    /// waits again. False unless called while this connection's receiver completes a read, with no
    /// caller taken yet and neither thread running one (the other thread must be free to receive).
    /// </summary>
    internal bool TryResume(IThreadPoolWorkItem work)
    {
        return Volatile.Read(ref _resuming) == 0 && !Closing && _resumed.TryTake(work);
    }

    // Each thread of the connection (the first, and the standby started on the first hand-over):
    // receives while it holds the role, stands by while the other does.
    private void ReceivingThread()
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                if (Interlocked.CompareExchange(ref _receiverRole, 1, 0) == 0)
                {
                    if (Receive())
                    {
                        break;
                    }
                }
                else if (StandBy())
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            if (error is not null)
            {
                _reader.Fail(error);
            }

            Close();
            Release();
        }
    }

    // Holding the receiving role: completes the waiting read when bytes arrive or the connection
    // closes, drops what arrives once the application stopped reading, and wakes a flush that waits
    // for space. True when the connection closed; false when the role went to the other thread
    // while this one resumed a caller.
    private bool Receive()
    {
        // Awake with the role: the flag that asked the peer to ring for the standby comes down.
        _myBell.Cancel();
        var spin = SpinWindow.Of(_spinTime, PauseTurns);
        while (true)
        {
            if (Volatile.Read(ref _aborted) != 0 && Interlocked.Exchange(ref _readFailed, 1) == 0)
            {
                // Reading fails at once; the doorbell is still served until the close, for the writer.
                _reader.Fail(new IOException("The shm:// connection was aborted."));
            }

            bool closing = Closing;
            bool dropping = Volatile.Read(ref _readFailed) != 0 || _reader.IsCompleted;
            bool worked = dropping ? _reader.Discard() : _reader.IsWaiting && (closing || _reader.HasNewBytes) && CompleteRead();
            if (_resumed.Take() is { } resumed)
            {
                if (!Resume(resumed))
                {
                    return false;
                }

                spin.Reset();
                continue;
            }

            if (worked)
            {
                spin.Reset();
                continue;
            }

            WakeSender();
            if (closing)
            {
                return true; // a read from now on sees the end itself
            }

            if (spin.Spin())
            {
                continue;
            }

            int seen = _myBell.Prepare();
            if (HasWork() || Closing)
            {
                _myBell.Cancel();
            }
            else
            {
                _myBell.Sleep(seen, SleepMilliseconds);
            }

            spin.Reset();
        }
    }

    // The read loop runs here until it waits again; a caller it resumes is taken meanwhile.
    private bool CompleteRead()
    {
        _resumed.BeginCompletion();
        try
        {
            return _reader.Wake();
        }
        finally
        {
            _resumed.EndCompletion();
        }
    }

    private bool HasWork() => ((Volatile.Read(ref _readFailed) != 0 || _reader.IsCompleted || _reader.IsWaiting) && _reader.HasNewBytes) || SenderCanGo();

    // Gives the role up, resumes the caller, and takes the role back unless the other thread took it
    // meanwhile (then true only if it did not). While the role is free the sleeping flag is up, so the
    // peer's next ring wakes the standby; what arrived before the flag went up wakes it here.
    private bool Resume(IThreadPoolWorkItem work)
    {
        Volatile.Write(ref _resuming, 1);
        bool handedOver = EnsureStandby();
        if (handedOver)
        {
            _myBell.Prepare();
            Volatile.Write(ref _receiverRole, 0);
            if (HasWork() || Closing || Volatile.Read(ref _aborted) != 0)
            {
                _myBell.RingHard();
            }
        }

        try
        {
            work.Execute();
        }
        finally
        {
            Volatile.Write(ref _resuming, 0);
        }

        if (!handedOver)
        {
            return true;
        }

        if (Interlocked.CompareExchange(ref _receiverRole, 1, 0) != 0)
        {
            return false;
        }

        // Receiving again, awake: the peer need not ring.
        _myBell.Cancel();
        return true;
    }

    // The second thread, started on the first hand-over (only the role's holder gets here). False
    // when the connection is closing: the caller is then resumed without a hand-over.
    private bool EnsureStandby()
    {
        if (_hasStandby)
        {
            return true;
        }

        if (Closing || !TryAddRef())
        {
            return false;
        }

        var standby = new Thread(ReceivingThread) { IsBackground = true, Name = "maas shm receive" };
        standby.Start();
        _hasStandby = true;
        return true;
    }

    // Not holding the role: sleeps on the doorbell without raising its flag until the role is free
    // (take it: false) or the connection closes while the other thread holds it (exit: true).
    private bool StandBy()
    {
        while (true)
        {
            int seen = _myBell.Sequence;
            if (Volatile.Read(ref _receiverRole) == 0)
            {
                return false;
            }

            if (Closing)
            {
                return true;
            }

            _myBell.Wait(seen, SleepMilliseconds);
        }
    }

    private bool SenderCanGo() => Volatile.Read(ref _spaceWaiter) is not null && _out.Free > 0;

    private void WakeSender()
    {
        if (SenderCanGo())
        {
            Interlocked.Exchange(ref _spaceWaiter, null)?.TrySetResult();
        }
    }

    /// <summary>Waits until the peer frees space in the outgoing ring, or the connection closes.</summary>
    internal Task WaitForSpaceAsync()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _spaceWaiter, waiter);
        if (_out.AskForSpace() || Closing)
        {
            Interlocked.Exchange(ref _spaceWaiter, null);
            return Task.CompletedTask;
        }

        // The receiving thread completes it when the peer frees space (the peer rings our doorbell).
        return waiter.Task;
    }

    private bool TryAddRef()
    {
        int refs = Volatile.Read(ref _refs);
        while (refs > 0)
        {
            int seen = Interlocked.CompareExchange(ref _refs, refs + 1, refs);
            if (seen == refs)
            {
                return true;
            }

            refs = seen;
        }

        return false;
    }

    /// <summary>Drops one reference on the mapping; the last unmaps it.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            _region.Dispose();
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
