using System.Net;
using System.Net.Sockets;
using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.Transports.Tcp;

/// <summary>
/// <c>tcp://host:port</c>: TCP with Nagle off (small requests leave at once) and keep-alive on (a
/// dead peer is noticed on idle connections). Port 0 binds a free port; the listener reports it.
/// </summary>
public sealed class TcpTransport : IMaasConnectionFactory, IMaasListenerFactory
{
    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme == "tcp";

    /// <inheritdoc/>
    public async ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var (host, port) = HostPort(uri, forBind: false);
        EndPoint endPoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        Configure(socket);
        await SocketConnections.ConnectAsync(socket, endPoint, uri, cancellationToken).ConfigureAwait(false);
        return SocketConnections.Wrap(socket, uri.ToString());
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
        var actual = new Uri($"tcp://{shown}:{bound.Port}");
        return ValueTask.FromResult<IMaasListener>(new SocketListener(socket, actual, Configure));
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
    /// <summary>Registers <c>tcp://</c>.</summary>
    public static IServiceCollection AddTcpTransport(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, TcpTransport>());
        return services;
    }
}
