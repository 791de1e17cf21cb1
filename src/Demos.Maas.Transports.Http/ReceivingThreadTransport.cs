using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// Kestrel's transport for the HTTP server's TCP endpoints: each connection is received by a thread
/// of its own (<see cref="SocketReceiveReader"/>) and answered straight from the thread that writes
/// (<see cref="SocketSendWriter"/>), as <c>tcp://</c> serves its connections. Kestrel's HTTP/1.1
/// parsing, the routes and a quick model then all run on the receiving thread.
/// </summary>
/// <remarks>
/// Kestrel's own socket transport hands each read from the runtime's epoll thread to one of its I/O
/// queues and the request to a pool thread, and each response to a sending loop: thread wake-ups
/// that make up most of a small call's time on a small machine. Unix-socket endpoints keep Kestrel's
/// transport (which also owns their socket file).
/// </remarks>
internal sealed class ReceivingThreadTransportFactory(TimeSpan receiveSpin) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint is IPEndPoint { Address: var address } && address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ValueTask<IConnectionListener>(new Listener(socket, receiveSpin));
    }

    private sealed class Listener(Socket socket, TimeSpan receiveSpin) : IConnectionListener
    {
        private readonly AcceptingThread _accepting = new(socket);
        private long _connections;

        public EndPoint EndPoint { get; } = socket.LocalEndPoint!;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            if (await _accepting.AcceptAsync(cancellationToken).ConfigureAwait(false) is not { } accepted)
            {
                return null;
            }

            accepted.NoDelay = true;
            return SocketConnections.WrapForKestrel(accepted, $"maas-{Interlocked.Increment(ref _connections)}", receiveSpin);
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => DisposeAsync();

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            _accepting.CloseUntaken();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// One accepted connection as Kestrel sees it. <see cref="ConnectionClosed"/> fires when the client
/// closes, even while a request runs and nothing reads: Kestrel then aborts the request, and a
/// model that watches its cancellation stops.
/// </summary>
internal sealed class KestrelSocketConnection : ConnectionContext, IMemoryPoolFeature, IPeerHangupWatch
{
    private readonly Socket _socket;
    private readonly SocketReceiveReader? _reader;
    private readonly CancellationTokenSource _closed = new();
    private int _closedFired;
    private int _aborted;
    private int _disposed;

    // With receivingThread: received by a thread of the connection's own, which runs Kestrel's
    // request processing; without: through the runtime's shared I/O threads into a pipe.
    private KestrelSocketConnection(Socket socket, string id, (TimeSpan Spin, Action<int> Count)? receivingThread)
    {
        _socket = socket;
        ConnectionId = id;
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        Features.Set<IMemoryPoolFeature>(this);

        // Receives and sends return at once when they would wait (see SocketConnection).
        socket.Blocking = false;
        if (receivingThread is { } thread)
        {
            _reader = new SocketReceiveReader(socket, thread.Spin, thread.Count, idleEnd: Timeout.InfiniteTimeSpan, hangupWatch: this);
            Transport = new DuplexPipe(_reader, new SocketSendWriter(socket));
        }
        else
        {
            var input = new Pipe(new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
            Transport = new DuplexPipe(input.Reader, new SocketSendWriter(socket));
            _ = ReceiveIntoAsync(input.Writer);
        }
    }

    /// <summary>Received by a thread of the connection's own, which runs Kestrel's request processing.</summary>
    public static KestrelSocketConnection WithReceivingThread(Socket socket, string id, TimeSpan receiveSpin, Action<int> countReceivingThread) =>
        new(socket, id, (receiveSpin, countReceivingThread));

    /// <summary>Received through the runtime's shared I/O threads into a pipe, for a process that has run out of receiving threads.</summary>
    public static KestrelSocketConnection OverSharedThreads(Socket socket, string id) => new(socket, id, null);

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException("The transport owns the connection's closed token.");
    }

    /// <summary>Where Kestrel takes the memory it buffers a response in before it reaches <see cref="Transport"/>.</summary>
    public MemoryPool<byte> MemoryPool => BlockPool.Instance;

    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        _reader?.Abort();
        SocketConnections.ShutDownAndClose(_socket);
        FireClosed();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                await Transport.Output.CompleteAsync().ConfigureAwait(false);
                await Transport.Input.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The client went away first; there is nothing left to flush.
            }

            Abort(new ConnectionAbortedException("The connection was disposed."));
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// For the receiving thread while a request runs: whether the client hung up, and if so,
    /// <see cref="ConnectionClosed"/> fires. On Linux the peer's end of the stream shows even behind
    /// bytes not read yet (POLLRDHUP); elsewhere only once every byte was read.
    /// </summary>
    public bool PeerHungUp()
    {
        bool hungUp;
        try
        {
            hungUp = OperatingSystem.IsLinux()
                ? HangupPoll.HungUp((int)_socket.Handle)
                : _socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            hungUp = true;
        }

        if (hungUp)
        {
            FireClosed();
        }

        return hungUp;
    }

    // Kestrel aborts the request from the token's callbacks: on a pool thread, never on the one
    // that noticed (the receiving thread holds its reader's lock then).
    private void FireClosed()
    {
        if (Interlocked.Exchange(ref _closedFired, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static closed => closed.Cancel(), _closed, preferLocal: false);
        }
    }

    // Past the receiving-thread limit: receives whenever bytes come (as Kestrel's own transport
    // does), so the end of the stream is seen even while a request runs.
    private async Task ReceiveIntoAsync(PipeWriter input)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(input.GetMemory(16 * 1024), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                input.Advance(n);
                var flushed = await input.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            error = Volatile.Read(ref _aborted) != 0 ? null : new IOException($"Unable to read data from the transport connection: {ex.Message}.", ex);
        }

        await input.CompleteAsync(error).ConfigureAwait(false);
        FireClosed();
    }
}

/// <summary>
/// The shared array pool as Kestrel expects its memory pools to behave: a rent of any size (0 or
/// -1) gets a 4 KiB block, never an empty one (the shared <see cref="MemoryPool{T}"/> hands out an
/// empty array for 0, which a response writer that asked for "some memory" cannot use).
/// </summary>
internal sealed class BlockPool : MemoryPool<byte>
{
    private const int BlockBytes = 4096;

    public static BlockPool Instance { get; } = new();

    public override int MaxBufferSize => Array.MaxLength;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => Shared.Rent(minBufferSize <= 0 ? BlockBytes : minBufferSize);

    protected override void Dispose(bool disposing)
    {
    }
}

/// <summary>Linux's poll(2) for a peer's hang-up, which shows even behind bytes not read yet.</summary>
internal static partial class HangupPoll
{
    private const short PollIn = 0x001;
    private const short PollErr = 0x008;
    private const short PollHup = 0x010;
    private const short PollRdHup = 0x2000;

    /// <summary>Whether the peer of the connected stream socket <paramref name="fd"/> closed its end or reset the connection; never waits.</summary>
    public static bool HungUp(int fd)
    {
        var poll = new PollFd { Fd = fd, Events = PollIn | PollRdHup };
        return Poll(ref poll, 1, 0) > 0 && (poll.Revents & (PollRdHup | PollHup | PollErr)) != 0;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "poll")]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMilliseconds);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
