using System.Net.Sockets;
using Demos.Maas.Transport;

namespace Demos.Maas.Core.Tests.ExampleTransport;

/// <summary>
/// A transport written as docs/architecture.md "How to add a transport" says, and nothing more:
/// <c>abstract://name</c>, a Linux abstract-namespace Unix socket (no file on disk). It lives in this
/// folder only; <see cref="AbstractSocketConformanceTests"/> registers it with one line and runs the
/// whole conformance suite over it.
/// </summary>
internal sealed class AbstractSocketTransport : IMaasConnectionFactory, IMaasListenerFactory
{
    // Step 1: say which URIs are yours.
    public bool CanHandle(Uri uri) => uri.Scheme == "abstract";

    // Step 2: open the byte stream and wrap it; connect failures are Unavailable.
    public async ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(EndPointOf(uri), cancellationToken);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot connect to {uri}: {ex.Message}", ex);
        }

        return new StreamConnection(new NetworkStream(socket, ownsSocket: true), uri.ToString(), socket.Dispose);
    }

    // Step 3: bind, and hand out one MaasConnection per accepted peer.
    public ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(EndPointOf(uri));
            socket.Listen(64);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot listen on {uri}: {ex.Message}", ex);
        }

        return ValueTask.FromResult<IMaasListener>(new Listener(socket, uri));
    }

    // Step 4: bad URIs are InvalidArgument.
    private static UnixDomainSocketEndPoint EndPointOf(Uri uri) =>
        string.IsNullOrEmpty(uri.Host)
            ? throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' has no name; use abstract://name.")
            : new UnixDomainSocketEndPoint("\0demos-maas-" + uri.Host);

    private sealed class Listener(Socket socket, Uri uri) : IMaasListener
    {
        public Uri Uri { get; } = uri;

        public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                var peer = await socket.AcceptAsync(cancellationToken);
                return new StreamConnection(new NetworkStream(peer, ownsSocket: true), "abstract-peer", peer.Dispose);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return null; // Closed: the server's accept loop ends.
            }
        }

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
