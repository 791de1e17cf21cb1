using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Tcp;

/// <summary>
/// The server side of <c>tls://</c>: accepts sockets and runs each TLS handshake on its own task, so
/// a slow or silent client cannot hold up the next one; a handshake that takes longer than
/// <see cref="HandshakeTimeout"/> or fails closes that socket only. Finished connections carry the
/// client certificate's subject as their peer identity (mutual TLS).
/// </summary>
internal sealed class TlsListener : IMaasListener
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly SslServerAuthenticationOptions _tls;
    private readonly Action<Socket> _configure;
    private readonly Channel<MaasConnection> _ready = Channel.CreateBounded<MaasConnection>(64);
    private readonly CancellationTokenSource _closed = new();
    private readonly Task _pump;

    public TlsListener(Socket socket, Uri uri, SslServerAuthenticationOptions tls, Action<Socket> configure)
    {
        _socket = socket;
        _tls = tls;
        _configure = configure;
        Uri = uri;
        _pump = Task.Run(AcceptLoopAsync);
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
        await _closed.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _pump.ConfigureAwait(false);
        while (_ready.Reader.TryRead(out var unaccepted))
        {
            await unaccepted.DisposeAsync().ConfigureAwait(false);
        }

        _closed.Dispose();
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

                _configure(peer);
                _ = HandshakeAsync(peer);
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

    private async Task HandshakeAsync(Socket peer)
    {
        var ssl = new SslStream(new NetworkStream(peer, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
            timeout.CancelAfter(HandshakeTimeout);
            await ssl.AuthenticateAsServerAsync(_tls, timeout.Token).ConfigureAwait(false);
            string? subject = ssl.RemoteCertificate is { } certificate ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()).Subject : null;
            var connection = new StreamConnection(ssl, peer.RemoteEndPoint?.ToString() ?? Uri.ToString(), peer.Dispose, subject);
            if (!_ready.Writer.TryWrite(connection) && !await TryQueueAsync(connection).ConfigureAwait(false))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Security.Authentication.AuthenticationException or ObjectDisposedException or SocketException)
        {
            // A failed or slow handshake costs this socket only.
            await ssl.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<bool> TryQueueAsync(MaasConnection connection)
    {
        try
        {
            await _ready.Writer.WriteAsync(connection, _closed.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            return false;
        }
    }
}
