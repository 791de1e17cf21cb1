using System.Net.Sockets;
using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.Transports.Pipe;

/// <summary>
/// <c>pipe:///path/to/socket</c>: a Unix domain socket. Fastest way between processes on one
/// machine, and a file the operating system's permissions protect. Available on Linux, macOS and
/// Windows 10+.
/// </summary>
public sealed class PipeTransport : IMaasConnectionFactory, IMaasListenerFactory
{
    private readonly TimeSpan _receiveSpin = SocketConnections.DefaultReceiveSpin;

    /// <summary>
    /// How long a connection's receiving thread keeps checking for bytes, yielding its core, before
    /// it sleeps in the kernel (client and server side): 50 µs by default, or the whole microseconds
    /// in <c>MAAS_SOCKET_SPIN_US</c>; zero sleeps at once. A longer spin answers sooner after long
    /// silences and costs that much CPU per wait.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative time.</exception>
    public TimeSpan ReceiveSpinTime
    {
        get => _receiveSpin;
        init => _receiveSpin = SocketConnections.CheckedReceiveSpin(value);
    }

    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme is "pipe" or "unix";

    /// <inheritdoc/>
    public async ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        string path = PathOf(uri);
        if (!path.StartsWith('@') && !File.Exists(path))
        {
            // The socket error for a missing file ("Cannot assign requested address") hides the cause.
            throw new MaasException(MaasErrorCode.Unavailable, $"No socket at {Path.GetFullPath(path)}: is the server running? (start one with: maas serve --listen {uri})");
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        ConfigureBuffers(socket);
        try
        {
            await SocketConnections.ConnectUnixAsync(socket, new UnixDomainSocketEndPoint(path), uri, cancellationToken).ConfigureAwait(false);
        }
        catch (MaasException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Nothing listens on the socket {path}: the server that made it has stopped; start it again.", ex);
        }

        return SocketConnections.Wrap(socket, uri.ToString(), _receiveSpin, resumesCallers: true);
    }

    /// <inheritdoc/>
    public ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        string path = PathOf(uri);
        var socket = UnixSocketFile.Listen(path, uri);

        return ValueTask.FromResult<IMaasListener>(new SocketListener(socket, uri, ConfigureBuffers, _receiveSpin, () => TryDelete(path)));
    }

    /// <summary>The socket path of a pipe URI: <c>pipe:///tmp/m.sock</c> → <c>/tmp/m.sock</c>.</summary>
    public static string PathOf(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        string path = Uri.UnescapeDataString(uri.AbsolutePath);
        if (!string.IsNullOrEmpty(uri.Host))
        {
            // pipe://relative/name is read as a path relative to the working directory.
            path = uri.Host + path;
        }

        if (string.IsNullOrEmpty(path) || path == "/")
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' names no socket path; use pipe:///path/to/model.sock.");
        }

        return path;
    }

    // A socket file left by a crashed server blocks bind; remove it only if nobody answers on it.
    // A Unix socket's default buffers (about 200 KiB) make a large array's frame cross in several
    // rounds, each a wake-up of the reader and then of the writer. With room for a whole frame of a
    // typical batch, the writer hands it over in one call and the reader takes it in few. The kernel
    // caps the size at net.core.wmem_max/rmem_max and holds memory only for bytes in flight.
    internal const int SocketBufferBytes = 4 * 1024 * 1024;

    private static void ConfigureBuffers(Socket socket)
    {
        try
        {
            socket.SendBufferSize = SocketBufferBytes;
            socket.ReceiveBufferSize = SocketBufferBytes;
        }
        catch (SocketException)
        {
            // A platform that refuses the size keeps its default: slower for large frames, still correct.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next bind to clean up.
        }
    }
}

/// <summary>DI registration of the pipe transport.</summary>
public static class PipeTransportServiceCollectionExtensions
{
    /// <summary>Registers <c>pipe://</c> (and <c>unix://</c>).</summary>
    public static IServiceCollection AddPipeTransport(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, PipeTransport>());
        return services;
    }
}
