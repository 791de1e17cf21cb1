using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Tcp;

/// <summary>
/// The server side of <c>tls://</c>: accepts sockets and runs each TLS handshake on its own task, so
/// a slow or silent client cannot hold up the next one; a handshake that takes longer than 10 s or
/// fails closes that socket only. Finished connections carry the client certificate's subject as
/// their peer identity (mutual TLS).
/// </summary>
internal sealed class TlsListener : HandshakeListener
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly SslServerAuthenticationOptions _tls;
    private readonly Action<Socket> _configure;

    public TlsListener(Socket socket, Uri uri, SslServerAuthenticationOptions tls, Action<Socket> configure)
        : base(socket, uri, HandshakeTimeout)
    {
        _tls = tls;
        _configure = configure;
        Start();
    }

    protected override void Configure(Socket peer) => _configure(peer);

    protected override async Task<MaasConnection> HandshakeAsync(Socket peer, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new NetworkStream(peer, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(_tls, cancellationToken).ConfigureAwait(false);
            string? subject = ssl.RemoteCertificate is { } certificate ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()).Subject : null;
            return new StreamConnection(ssl, peer.RemoteEndPoint?.ToString() ?? Uri.ToString(), peer.Dispose, subject);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
