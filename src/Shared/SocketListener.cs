using System.Net;
using System.Net.Sockets;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports;

/// <summary>
/// Accepts sockets from a bound listening socket and wraps each as a connection (<see cref="SocketConnections.Wrap"/>).
/// Compiled into each socket transport (shared source, not a public assembly).
/// </summary>
internal sealed class SocketListener : IMaasListener
{
    private readonly Socket _socket;
    private readonly Action<Socket> _configure;
    private readonly Action? _onDispose;
    private readonly TimeSpan _receiveSpin;
    private int _disposed;

    public SocketListener(Socket socket, Uri uri, Action<Socket> configure, TimeSpan receiveSpin, Action? onDispose = null)
    {
        _socket = socket;
        Uri = uri;
        _configure = configure;
        _receiveSpin = receiveSpin;
        _onDispose = onDispose;
    }

    public Uri Uri { get; }

    public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        if (await SocketConnections.AcceptAsync(_socket, cancellationToken).ConfigureAwait(false) is not { } accepted)
        {
            return null;
        }

        _configure(accepted);
        string remote = accepted.RemoteEndPoint?.ToString() is { Length: > 0 } r ? r : Uri.ToString();
        return SocketConnections.Wrap(accepted, remote, _receiveSpin);
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
            _onDispose?.Invoke();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Wraps connected sockets as connections.</summary>
internal static partial class SocketConnections
{
    // Each SocketConnection has a receiving thread. Past this many in the process (a server with many
    // clients), new connections read through the runtime's shared I/O threads instead. A stream
    // whose thread ended idle starts another for its next read even past it: how a connection reads
    // is fixed when it is made.
    internal const int MaxReceivingThreads = 256;

    private static int s_receivingThreads;

    /// <summary>
    /// How long the receiving thread of an HTTP client's stream sleeps without a read before it
    /// ends; the next read starts another. A pooled connection between requests would otherwise hold
    /// a thread until the pool drops it (a minute idle by default).
    /// </summary>
    public static TimeSpan ReceiverIdleEnd { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The receiving threads running in the process (those a connection's reads still count on).</summary>
    public static int ReceivingThreads => Volatile.Read(ref s_receivingThreads);

    /// <summary>
    /// How long a receiving thread stays awake for bytes, or for the next read, before it sleeps:
    /// 50 µs, or the whole microseconds in <c>MAAS_SOCKET_SPIN_US</c> (0: sleep at once). A 1-point
    /// call over pipe:// with inline completions took 50-58 µs sleeping at once, 9 µs spinning first.
    /// </summary>
    public static TimeSpan DefaultReceiveSpin { get; } = SpinWindow.FromEnvironment("MAAS_SOCKET_SPIN_US", fallbackMicroseconds: 50);

    /// <summary>A transport's receive spin setting, checked.</summary>
    public static TimeSpan CheckedReceiveSpin(TimeSpan value) =>
        value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The receive spin time must not be negative (zero sleeps at once).");

    /// <param name="socket">The connected socket.</param>
    /// <param name="remote">The peer, for logs.</param>
    /// <param name="receiveSpin">The receiving thread's spin (<see cref="DefaultReceiveSpin"/>).</param>
    /// <param name="resumesCallers">A client's connection: its receiving thread resumes the caller of the
    /// only call in flight, and a new thread takes over receiving when that caller holds it while a read
    /// waits (<see cref="ReceiveWatchdog"/>).</param>
    public static MaasConnection Wrap(Socket socket, string remote, TimeSpan receiveSpin, bool resumesCallers = false) =>
        WithReceivingThread<MaasConnection>(
            count => new SocketConnection(socket, remote, receiveSpin, count, resumesCallers),
            () => new StreamConnection(new NetworkStream(socket, ownsSocket: true), remote, abort: () => ShutDownAndClose(socket)));

    /// <summary>
    /// Shuts the socket down both ways, which wakes a receiving thread out of its poll (closing a
    /// descriptor alone does not), then closes it; a socket already closed is left as it is.
    /// </summary>
    /// <summary>The next connection to <paramref name="listening"/>, or null once it was closed; a client that gave up before it was accepted is skipped.</summary>
    public static async ValueTask<Socket?> AcceptAsync(Socket listening, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await listening.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException || (ex is SocketException se && se.SocketErrorCode == SocketError.OperationAborted))
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The client gave up before we accepted it; wait for the next one.
            }
        }
    }

    public static void ShutDownAndClose(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }

        socket.Dispose();
    }

    // Counts one more receiving thread and makes what uses it (create gets the action that counts
    // its threads starting and ending), or makes the fallback once the process has MaxReceivingThreads.
    private static T WithReceivingThread<T>(Func<Action<int>, T> create, Func<T> fallback)
    {
        if (Interlocked.Increment(ref s_receivingThreads) <= MaxReceivingThreads)
        {
            try
            {
                return create(static change => Interlocked.Add(ref s_receivingThreads, change));
            }
            catch
            {
                Interlocked.Decrement(ref s_receivingThreads);
                throw;
            }
        }

        Interlocked.Decrement(ref s_receivingThreads);
        return fallback();
    }

    /// <summary>
    /// Connects to <paramref name="host"/> (a name is resolved first) with <see cref="ConnectPolledAsync"/>,
    /// trying each address in turn with a fresh socket, configured by <paramref name="configure"/>;
    /// the first that accepts is returned.
    /// </summary>
    /// <exception cref="SocketException">No address accepted (the last failure), or the name did not resolve.</exception>
    public static async ValueTask<Socket> ConnectTcpAsync(string host, int port, Action<Socket> configure, CancellationToken cancellationToken)
    {
        IPAddress[] addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        SocketException? failure = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                configure(socket);
                await ConnectPolledAsync(socket, new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                failure = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        // A name with no address at all fails as one that does not resolve.
        throw failure ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>
    /// Connects a TCP socket without .NET's asynchronous socket engine: a non-blocking connect, then
    /// polls for its end (at once, then at growing intervals up to 50 ms). A socket that once waited
    /// in an asynchronous operation stays registered with the runtime's epoll thread, which then
    /// wakes for every packet that arrives, although a <see cref="SocketConnection"/> receives on a
    /// thread of its own: one needless wake-up per answer, on a machine with few cores a large part
    /// of a small call's time. (A Unix socket connects at once and never registers.)
    /// </summary>
    /// <exception cref="SocketException">The connection failed (refused, unreachable).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public static async ValueTask ConnectPolledAsync(Socket socket, IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        socket.Blocking = false;
        try
        {
            socket.Connect(endPoint);
            socket.Blocking = true;
            return;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // Under way; a loopback connection has usually finished by the first poll.
        }

        int waitMs = 1;
        while (true)
        {
            bool writable = socket.Poll(0, SelectMode.SelectWrite);
            if (socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error && error != 0)
            {
                throw new SocketException(error);
            }

            // Connected also completes the socket's own record of the connect (its remote end point).
            if (writable && socket.Connected)
            {
                // Handed back in the mode it was made in (a NetworkStream refuses a non-blocking socket).
                socket.Blocking = true;
                return;
            }

            await Task.Delay(waitMs, cancellationToken).ConfigureAwait(false);
            waitMs = Math.Min(waitMs * 2, 50);
        }
    }

    /// <summary>Connects a Unix socket, with a clear Unavailable error instead of a raw SocketException.</summary>
    public static async ValueTask<Socket> ConnectUnixAsync(Socket socket, UnixDomainSocketEndPoint endPoint, Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            await UnixSocketFile.ConnectAsync(socket, endPoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw CannotConnect(uri, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The Unavailable error of a connect that failed.</summary>
    public static MaasException CannotConnect(Uri uri, SocketException ex) =>
        new(MaasErrorCode.Unavailable, $"Cannot connect to {uri}: {ex.Message} ({ex.SocketErrorCode}).", ex);
}
