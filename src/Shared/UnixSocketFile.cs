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
}
