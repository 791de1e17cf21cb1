using System.Net.Sockets;
using System.Threading.Channels;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports;

/// <summary>
/// Accepts sockets and runs each one's handshake (TLS, a shared-memory rendezvous) on its own task
/// with a time limit, so a slow or silent peer costs only its own socket; finished connections wait
/// in a bounded queue for <see cref="AcceptAsync"/>. Shared source of the listeners that need a
/// handshake before a connection exists.
/// </summary>
internal abstract class HandshakeListener : IMaasListener
{
    private readonly Socket _socket;
    private readonly TimeSpan _handshakeTimeout;
    private readonly Channel<MaasConnection> _ready = Channel.CreateBounded<MaasConnection>(64);
    private readonly CancellationTokenSource _closed = new();
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    protected HandshakeListener(Socket socket, Uri uri, TimeSpan handshakeTimeout)
    {
        _socket = socket;
        _handshakeTimeout = handshakeTimeout;
        Uri = uri;
    }

    public Uri Uri { get; }

    public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _closed.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _loop.ConfigureAwait(false);
        OnClosed();
        while (_ready.Reader.TryRead(out var unaccepted))
        {
            await unaccepted.DisposeAsync().ConfigureAwait(false);
        }

        _closed.Dispose();
    }

    /// <summary>Starts accepting. A derived listener calls it last in its constructor, once its own fields are set.</summary>
    protected void Start() => _loop = Task.Run(AcceptLoopAsync);

    /// <summary>Prepares an accepted socket (socket options) before its handshake.</summary>
    protected virtual void Configure(Socket peer)
    {
    }

    /// <summary>
    /// Runs the handshake on <paramref name="peer"/> and returns its connection. A handshake that
    /// fails throws (IOException, SocketException, OperationCanceledException, …) after disposing
    /// what it made, the socket included.
    /// </summary>
    protected abstract Task<MaasConnection> HandshakeAsync(Socket peer, CancellationToken cancellationToken);

    /// <summary>Runs once the listener has closed: remove what it owns on disk.</summary>
    protected virtual void OnClosed()
    {
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                Socket peer;
                try
                {
                    peer = await _socket.AcceptAsync(_closed.Token).ConfigureAwait(false);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
                {
                    continue;
                }

                Configure(peer);
                _ = HandshakeAndQueueAsync(peer);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Closed.
        }
        finally
        {
            _ready.Writer.TryComplete();
        }
    }

    private async Task HandshakeAndQueueAsync(Socket peer)
    {
        CancellationTokenSource timeout;
        try
        {
            timeout = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
        }
        catch (ObjectDisposedException)
        {
            peer.Dispose(); // accepted just as the listener closed
            return;
        }

        MaasConnection connection;
        using (timeout)
        {
            try
            {
                timeout.CancelAfter(_handshakeTimeout);
                connection = await HandshakeAsync(peer, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Security.Authentication.AuthenticationException or ObjectDisposedException or SocketException or UnauthorizedAccessException)
            {
                // A failed or slow handshake costs this socket only (HandshakeAsync disposed it).
                return;
            }
        }

        if (!_ready.Writer.TryWrite(connection) && !await TryQueueAsync(connection).ConfigureAwait(false))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<bool> TryQueueAsync(MaasConnection connection)
    {
        try
        {
            await _ready.Writer.WriteAsync(connection, _closed.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException or ObjectDisposedException)
        {
            return false;
        }
    }
}
