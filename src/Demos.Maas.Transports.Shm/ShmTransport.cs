using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.Transports.Shm;

/// <summary>Settings of the shm:// transport.</summary>
public sealed class ShmTransportOptions
{
    /// <summary>Bytes of each ring (request and response) of a connection a server accepts; a power of two from 4 KiB to 1 GiB. Default 1 MiB. Frames larger than the ring are streamed through it.</summary>
    public int RingSize { get; set; } = 1 << 20;

    /// <summary>How long a waiting side spins before it sleeps on a futex. Default 50 µs, or the microseconds in the environment variable <c>MAAS_SHM_SPIN_US</c>; zero sleeps at once.</summary>
    public TimeSpan SpinTime { get; set; } = DefaultSpinTime();

    private static TimeSpan DefaultSpinTime() => SpinWindow.FromEnvironment("MAAS_SHM_SPIN_US", fallbackMicroseconds: 50);

    /// <summary>Folder of the ring files (one per connection, removed once both sides mapped it). Default /dev/shm.</summary>
    public string RingDirectory { get; set; } = "/dev/shm";
}

/// <summary>
/// <c>shm://name</c> or <c>shm:///path/to/socket</c>: processes on one Linux host exchange frames
/// through a request ring and a response ring in shared memory, one pair per connection. A client
/// finds the server through a Unix domain socket (<c>shm://name</c> is the socket
/// <c>/dev/shm/maas-name.sock</c>); the server makes the ring file, the client maps it, and the file
/// is removed. Waiting sides spin briefly, then sleep on a futex, so an idle connection costs no CPU.
/// The socket stays open: a peer that dies is seen at once.
/// </summary>
public sealed class ShmTransport : IMaasConnectionFactory, IMaasListenerFactory
{
    private static readonly TimeSpan RendezvousTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A transport with the default settings.</summary>
    public ShmTransport()
        : this(new ShmTransportOptions())
    {
    }

    /// <summary>A transport with <paramref name="options"/>.</summary>
    public ShmTransport(ShmTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!ShmRegion.IsPowerOfTwo(options.RingSize) || options.RingSize < 4096 || options.RingSize > (1 << 30))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"shm:// ring size {options.RingSize} must be a power of two from 4096 to 1073741824 bytes.");
        }

        if (options.SpinTime < TimeSpan.Zero)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"shm:// spin time {options.SpinTime} must not be negative.");
        }

        Options = options;
    }

    /// <summary>The settings.</summary>
    public ShmTransportOptions Options { get; }

    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme == "shm";

    /// <inheritdoc/>
    public async ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        string path = SocketPathOf(uri);
        RequireSupport(uri);
        if (!File.Exists(path))
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"No shm:// server at {uri}: there is no socket {path}; is the server running? (start one with: maas serve --listen {uri})");
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        ShmRegion? region = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RendezvousTimeout);
            try
            {
                await UnixSocketFile.ConnectAsync(socket, new UnixDomainSocketEndPoint(path), timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
            {
                throw new MaasException(MaasErrorCode.Unavailable, $"No shm:// server at {uri}: nothing listens on the socket {path} (the server that made it has stopped; start it again).", ex);
            }

            string ringPath = await ReceivePathAsync(socket, timeout.Token).ConfigureAwait(false);
            region = ShmRegion.Open(ringPath);
            await socket.SendAsync(new byte[] { 1 }, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            return new ShmConnection(region, socket, isServer: false, uri.ToString(), Options.SpinTime);
        }
        catch (Exception ex) when (ex is not MaasException && !cancellationToken.IsCancellationRequested)
        {
            region?.Dispose();
            socket.Dispose();
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot connect to {uri}: {ex.Message}", ex);
        }
        catch
        {
            region?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        string path = SocketPathOf(uri);
        RequireSupport(uri);
        if (!Directory.Exists(Options.RingDirectory))
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot listen on {uri}: the ring folder {Options.RingDirectory} does not exist.");
        }

        RemoveStaleRings(Options.RingDirectory);
        var socket = UnixSocketFile.Listen(path, uri);

        return ValueTask.FromResult<IMaasListener>(new ShmListener(socket, uri, path, Options));
    }

    /// <summary>
    /// The rendezvous socket of a shm URI: <c>shm://name</c> → <c>/dev/shm/maas-name.sock</c> (a name
    /// of letters, digits, '.', '_' and '-'), <c>shm:///tmp/m.sock</c> → <c>/tmp/m.sock</c>.
    /// </summary>
    public static string SocketPathOf(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.Scheme != "shm")
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' is not a shm:// URI; use shm://name or shm:///path/to/socket.");
        }

        string path = Uri.UnescapeDataString(uri.AbsolutePath);
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || uri.Port != -1 || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' is not a shm:// URI this transport understands; use shm://name or shm:///path/to/socket.");
        }

        if (!string.IsNullOrEmpty(uri.Host))
        {
            string name = uri.Host;
            if ((path.Length > 0 && path != "/") || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' does not name a shm:// server: use shm://name (letters, digits, '.', '_', '-') or shm:///path/to/socket.");
            }

            return $"/dev/shm/maas-{name}.sock";
        }

        if (string.IsNullOrEmpty(path) || path.EndsWith('/'))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' names no socket; use shm://name or shm:///path/to/socket.");
        }

        return path;
    }

    private static void RequireSupport(Uri uri)
    {
        if (!Futex.IsSupported)
        {
            throw new MaasException(MaasErrorCode.Unsupported, $"'{uri}': shm:// needs Linux (futexes); use pipe:// on this system.");
        }
    }

    private static async Task<string> ReceivePathAsync(Socket socket, CancellationToken cancellationToken)
    {
        var length = new byte[4];
        await ReceiveExactlyAsync(socket, length, cancellationToken).ConfigureAwait(false);
        int n = BinaryPrimitives.ReadInt32LittleEndian(length);
        if (n is <= 0 or > 4096)
        {
            throw new InvalidDataException($"the server sent a ring path of {n} bytes.");
        }

        var bytes = new byte[n];
        await ReceiveExactlyAsync(socket, bytes, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(bytes);
    }

    internal static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("the peer closed the socket during the shm:// rendezvous.");
            }

            buffer = buffer[n..];
        }
    }

    // Ring files are removed as soon as both sides mapped them; one that is left belongs to a server
    // killed during a rendezvous. Its name carries the server's process id.
    private static void RemoveStaleRings(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory, "maas-ring-*.shm"))
        {
            string[] parts = Path.GetFileName(file).Split('-');
            if (parts.Length >= 3 && int.TryParse(parts[2], out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                ShmListener.TryDelete(file);
            }
        }
    }
}

/// <summary>DI registration of the shared-memory transport.</summary>
public static class ShmTransportServiceCollectionExtensions
{
    /// <summary>Registers <c>shm://</c>; <paramref name="configure"/> changes its settings.</summary>
    public static IServiceCollection AddShmTransport(this IServiceCollection services, Action<ShmTransportOptions>? configure = null)
    {
        var options = new ShmTransportOptions();
        configure?.Invoke(options);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport>(new ShmTransport(options)));
        return services;
    }
}
