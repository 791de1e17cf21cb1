using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Demos.Maas.Security;
using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.Transports.Tcp;

/// <summary>
/// <c>tcp://host:port</c>: TCP with Nagle off (small requests leave at once) and keep-alive on (a
/// dead peer is noticed on idle connections). Port 0 binds a free port; the listener reports it.
/// <c>tls://host:port</c>: the same inside TLS (<see cref="SslStream"/>), with the certificates of
/// <see cref="Tls"/>; a client certificate becomes the connection's peer identity (mutual TLS).
/// </summary>
public sealed class TcpTransport : IMaasConnectionFactory, IMaasListenerFactory
{
    /// <summary>Creates the transport; <paramref name="tls"/> configures <c>tls://</c> (a server needs a certificate; a client trusts the system's CAs without one).</summary>
    public TcpTransport(MaasTlsOptions? tls = null) => Tls = tls;

    /// <summary>The TLS settings of <c>tls://</c>, or null.</summary>
    public MaasTlsOptions? Tls { get; }

    /// <summary>
    /// How long a plain <c>tcp://</c> connection's receiving thread keeps checking for bytes,
    /// yielding its core, before it sleeps in the kernel (client and server side): 50 µs by default,
    /// or the whole microseconds in <c>MAAS_SOCKET_SPIN_US</c>; zero sleeps at once. TLS connections
    /// read through .NET's asynchronous sockets and do not spin.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative time.</exception>
    public TimeSpan ReceiveSpinTime
    {
        get => _receiveSpin;
        init => _receiveSpin = SocketConnections.CheckedReceiveSpin(value);
    }

    private readonly TimeSpan _receiveSpin = SocketConnections.DefaultReceiveSpin;

    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme is "tcp" or "tls";

    /// <inheritdoc/>
    public async ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var (host, port) = HostPort(uri, forBind: false);
        var socket = await ConnectSocketAsync(host, port, uri, cancellationToken).ConfigureAwait(false);
        if (uri.Scheme != "tls")
        {
            return SocketConnections.Wrap(socket, uri.ToString(), _receiveSpin, resumesCallers: true);
        }

        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(ClientTls(host), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new MaasException(MaasErrorCode.Unavailable, $"TLS with {uri} failed: {ex.Message}", ex);
        }

        return new StreamConnection(ssl, uri.ToString(), socket.Dispose, ssl.RemoteCertificate?.Subject);
    }

    private static async ValueTask<Socket> ConnectSocketAsync(string host, int port, Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await SocketConnections.ConnectTcpAsync(host, port, Configure, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw SocketConnections.CannotConnect(uri, ex);
        }
    }

    private SslClientAuthenticationOptions ClientTls(string host)
    {
        var options = new SslClientAuthenticationOptions { TargetHost = Tls?.ServerName ?? host };
        if (Tls?.TrustedCaPath is { } ca)
        {
            options.RemoteCertificateValidationCallback = TlsCertificates.TrustOnly(TlsCertificates.LoadCa(ca), checkName: true);
        }

        if (Tls?.CertificatePath is { } certificate)
        {
            options.ClientCertificates = [TlsCertificates.Load(certificate, Tls.KeyPath)];
        }

        return options;
    }

    private SslServerAuthenticationOptions ServerTls(Uri uri)
    {
        if (Tls?.CertificatePath is not { } certificate)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{uri}: a tls:// server needs a certificate and key (MaasTlsOptions.CertificatePath, KeyPath; maas cert new makes a test set).");
        }

        var options = new SslServerAuthenticationOptions { ServerCertificate = TlsCertificates.Load(certificate, Tls.KeyPath) };
        if (Tls.TrustedCaPath is { } ca)
        {
            // Always asked for (a server that does not ask gets none); refused when missing only if required.
            bool required = Tls.RequireClientCertificate ?? true;
            options.ClientCertificateRequired = true;
            var validate = TlsCertificates.TrustOnly(TlsCertificates.LoadCa(ca), checkName: false);
            options.RemoteCertificateValidationCallback = (sender, cert, chain, errors) => cert is null ? !required : validate(sender, cert, chain, errors);
        }

        return options;
    }

    /// <inheritdoc/>
    public ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var (host, port) = HostPort(uri, forBind: true);
        IPAddress address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" or "0.0.0.0" => IPAddress.Any,
            _ when IPAddress.TryParse(host, out var parsed) => parsed,
            _ => throw new MaasException(MaasErrorCode.InvalidArgument, $"Cannot bind to host '{host}': give an IP address (127.0.0.1, [::1], 0.0.0.0) or localhost."),
        };
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(512);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot listen on {uri}: {ex.Message}", ex);
        }

        var bound = (IPEndPoint)socket.LocalEndPoint!;
        string shown = bound.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{bound.Address}]" : bound.Address.ToString();
        var actual = new Uri($"{uri.Scheme}://{shown}:{bound.Port}");
        if (uri.Scheme == "tls")
        {
            try
            {
                return ValueTask.FromResult<IMaasListener>(new TlsListener(socket, actual, ServerTls(uri), Configure));
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        return ValueTask.FromResult<IMaasListener>(new SocketListener(socket, actual, Configure, _receiveSpin));
    }

    private static void Configure(Socket socket)
    {
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
    }

    private static (string Host, int Port) HostPort(Uri uri, bool forBind)
    {
        ArgumentNullException.ThrowIfNull(uri);
        string host = uri.Host.Trim('[', ']');
        if (string.IsNullOrEmpty(host))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' has no host; use tcp://127.0.0.1:5000.");
        }

        if (uri.Port < 0 || (!forBind && uri.Port == 0))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' has no port; use tcp://{uri.Host}:5000.");
        }

        return (host, uri.Port);
    }
}

/// <summary>DI registration of the TCP transport.</summary>
public static class TcpTransportServiceCollectionExtensions
{
    /// <summary>Registers <c>tcp://</c> and <c>tls://</c> (with <paramref name="tls"/>'s certificates).</summary>
    public static IServiceCollection AddTcpTransport(this IServiceCollection services, MaasTlsOptions? tls = null)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, TcpTransport>(_ => new TcpTransport(tls)));
        return services;
    }
}
