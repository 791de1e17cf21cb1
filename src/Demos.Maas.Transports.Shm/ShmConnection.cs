using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// One shm:// connection as a byte stream: what the application writes goes into the outgoing ring,
/// what the peer wrote is copied from the incoming ring into the input pipe. A dedicated thread per
/// connection waits for the peer (spins briefly, then sleeps on a futex); the rendezvous socket stays
/// open only so that the death of the peer process is seen at once (end of stream).
/// </summary>
internal sealed class ShmConnection : MaasConnection
{
    private const int SleepMilliseconds = 1000;

    private readonly ShmRegion _region;
    private readonly Socket _socket;
    private readonly ShmRing _in;
    private readonly ShmRing _out;
    private readonly Doorbell _myBell;
    private readonly Doorbell _peerBell;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly DuplexPipe _pipe;
    private readonly long _spinTicks;
    private readonly Task _sender;
    private TaskCompletionSource? _spaceWaiter;
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
        _spinTicks = (long)(spin.TotalSeconds * Stopwatch.Frequency);

        // The input pipe hands data to the reader on the receiving thread (no thread-pool hop) and never
        // pauses it: the ring is the flow control. The output pipe runs the sender where the writer flushes.
        _input = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool, pauseWriterThreshold: 0, useSynchronizationContext: false));
        int pause = Math.Max(64 * 1024, region.RingSize);
        _output = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool, pauseWriterThreshold: pause, resumeWriterThreshold: pause / 2, minimumSegmentSize: 64 * 1024, useSynchronizationContext: false));
        _pipe = new DuplexPipe(_input.Reader, _output.Writer);

        _refs = 3; // the owner, the receiving thread, the sender
        var receiver = new Thread(Receive) { IsBackground = true, Name = "maas shm receive" };
        receiver.Start();
        _sender = SendAsync();
        _ = WatchPeerAsync();
    }

    public override IDuplexPipe Transport => _pipe;

    public override string RemoteAddress { get; }

    private bool Closing => Volatile.Read(ref _closing) != 0 || _region.Closed;

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
        while (!_sender.IsCompleted && Volatile.Read(ref _sending) != 0 && limit.Elapsed < TimeSpan.FromSeconds(2))
        {
            await Task.WhenAny(_sender, Task.Delay(5)).ConfigureAwait(false);
        }

        Close();
        _output.Reader.CancelPendingRead();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Let what the application wrote reach the ring (the peer may still read it), then close.
        try
        {
            await _output.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Completed already.
        }

        await Task.WhenAny(_sender, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        Close();
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
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

    // The receiving thread: ring → input pipe; also wakes a sender that waits for space.
    private void Receive()
    {
        Exception? error = null;
        bool inputDone = false;
        try
        {
            long position = _in.ReadPosition;
            long spinStart = 0;
            bool discard = false;
            var writer = _input.Writer;
            while (true)
            {
                if (!inputDone && Volatile.Read(ref _aborted) != 0)
                {
                    // Reading fails at once; the doorbell is still served until the close, for the sender.
                    writer.Complete(new IOException("The shm:// connection was aborted."));
                    inputDone = discard = true;
                }

                bool closing = Closing;
                long available = _in.Available(position);
                if (available > 0)
                {
                    if (discard)
                    {
                        position += available;
                    }
                    else
                    {
                        while (available > 0)
                        {
                            var memory = writer.GetMemory((int)Math.Min(available, _in.Size));
                            int n = _in.Peek(position, memory.Span);
                            writer.Advance(n);
                            position += n;
                            available -= n;
                        }
                    }

                    if (_in.Release(position))
                    {
                        _peerBell.Ring();
                    }

                    if (!discard)
                    {
                        var flush = writer.FlushAsync();
                        var flushed = flush.IsCompleted ? flush.Result : flush.AsTask().GetAwaiter().GetResult();

                        // The application stopped reading but may still be writing (a server draining its
                        // last answers): keep serving the doorbell, and drop what arrives.
                        discard = flushed.IsCompleted;
                    }

                    spinStart = 0;
                    continue;
                }

                WakeSender();
                if (closing)
                {
                    break; // drained: end of stream
                }

                long now = Stopwatch.GetTimestamp();
                if (spinStart == 0)
                {
                    spinStart = now;
                }

                if (now - spinStart < _spinTicks)
                {
                    Thread.Yield(); // on a busy machine the core goes to whoever has work
                    continue;
                }

                int seen = _myBell.Prepare();
                if (_in.Available(position) > 0 || Closing || SenderCanGo())
                {
                    _myBell.Cancel();
                }
                else
                {
                    _myBell.Sleep(seen, SleepMilliseconds);
                }

                spinStart = 0;
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            if (!inputDone)
            {
                _input.Writer.Complete(error);
            }

            Close();
            Release();
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

    // The sender: output pipe → ring, in pieces as large as the ring has room for.
    private async Task SendAsync()
    {
        Exception? error = null;
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                Volatile.Write(ref _sending, 0);
                var result = await reader.ReadAsync().ConfigureAwait(false);
                Volatile.Write(ref _sending, 1);
                var buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    if (Closing)
                    {
                        throw new IOException("The shm:// peer has closed the connection.");
                    }

                    // Copy every segment that fits, then ring once: a large frame is one wake-up per ring-full, not per segment.
                    long written = 0;
                    foreach (var segment in buffer)
                    {
                        int n = _out.Write(segment.Span);
                        written += n;
                        if (n < segment.Length)
                        {
                            break;
                        }
                    }

                    buffer = buffer.Slice(written);
                    if (written > 0)
                    {
                        _peerBell.Ring();
                    }

                    if (!buffer.IsEmpty)
                    {
                        await WaitForSpaceAsync().ConfigureAwait(false);
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
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
            Volatile.Write(ref _sending, 0);
            await reader.CompleteAsync(error).ConfigureAwait(false);
            Release();
        }
    }

    private Task WaitForSpaceAsync()
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

    private void Release()
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
