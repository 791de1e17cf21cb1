using System.Net;
using System.Net.Sockets;

namespace Demos.Maas.Transports;

/// <summary>Socket files of Unix domain listeners (shared source).</summary>
internal static class UnixSocketFile
{
    /// <summary>
    /// A socket file left by a crashed server blocks bind; removes it only if nobody answers on it.
    /// Deleting a live server's file would cut it off from every new client while it keeps running.
    /// </summary>
    /// <exception cref="MaasException">Unavailable when a server is listening on <paramref name="path"/>.</exception>
    public static void RemoveIfStale(string path, Uri uri)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
            }
            catch (SocketException)
            {
                try
                {
                    File.Delete(path);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The bind reports it.
                }

                return;
            }
        }

        throw new MaasException(MaasErrorCode.Unavailable, $"Another server is already listening on {uri}.");
    }

    /// <summary>A listening Unix domain socket at <paramref name="path"/>, after removing a stale socket file there.</summary>
    /// <exception cref="MaasException">Unavailable when another server listens there or the bind fails.</exception>
    public static Socket Listen(string path, Uri uri)
    {
        RemoveIfStale(path, uri);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(512);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot listen on {uri}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Connects <paramref name="socket"/> to a Unix domain listener, waiting while its accept queue is full.
    /// TCP queues a connect the server has no room for and the kernel retries it; a Unix domain socket
    /// answers EAGAIN at once instead, so a burst of connects (an HTTP/1.1 client opening a connection
    /// per concurrent request, say) would fail although the server is healthy and about to accept.
    /// </summary>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled while waiting.</exception>
    /// <exception cref="SocketException">Any other connect error.</exception>
    public static async ValueTask ConnectAsync(Socket socket, EndPoint endPoint, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            try
            {
                await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxConnectBackoff.Ticks));
            }
        }
    }

    // Short enough that a queue drained by a live accept loop is noticed at once, long enough not to spin.
    private static readonly TimeSpan MaxConnectBackoff = TimeSpan.FromMilliseconds(20);
}
