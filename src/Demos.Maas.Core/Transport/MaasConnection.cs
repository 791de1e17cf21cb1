using System.IO.Pipelines;

namespace Demos.Maas.Transport;

/// <summary>
/// One duplex byte connection, as a transport hands it to the client or server (the shape of
/// Kestrel's <c>ConnectionContext</c>): frames are written to and read from <see cref="Transport"/>.
/// </summary>
public abstract class MaasConnection : IAsyncDisposable
{
    /// <summary>The byte pipes of the connection.</summary>
    public abstract IDuplexPipe Transport { get; }

    /// <summary>The peer's address, for logs.</summary>
    public virtual string RemoteAddress => "unknown";

    /// <summary>An identity the transport established for the peer (e.g. a TLS client certificate subject), or null.</summary>
    public virtual string? PeerIdentity => null;

    /// <summary>Closes the connection at once; pending reads and writes fail.</summary>
    public abstract void Abort();

    /// <summary>Closes the connection and releases its resources.</summary>
    public abstract ValueTask DisposeAsync();
}

/// <summary>A bound address that accepts connections (Kestrel's <c>IConnectionListener</c>).</summary>
public interface IMaasListener : IAsyncDisposable
{
    /// <summary>The address actually bound (a TCP port 0 becomes the real port).</summary>
    Uri Uri { get; }

    /// <summary>The next connection, or null once the listener is closed.</summary>
    ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// A transport plugin: turns URIs of its schemes into client connections and server listeners.
/// Register one in DI (or in the client/server options) per scheme family.
/// </summary>
public interface IMaasTransport
{
    /// <summary>URI schemes handled, e.g. "tcp".</summary>
    IReadOnlyList<string> Schemes { get; }

    /// <summary>Opens a connection to a server.</summary>
    ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default);

    /// <summary>Binds a listener.</summary>
    ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default);
}

/// <summary>Finds the transport for a URI among the registered ones.</summary>
public static class TransportSelector
{
    /// <summary>The transport whose schemes contain <paramref name="uri"/>'s scheme.</summary>
    /// <exception cref="MaasException">InvalidArgument when no registered transport handles the scheme.</exception>
    public static IMaasTransport Select(IEnumerable<IMaasTransport> transports, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(transports);
        ArgumentNullException.ThrowIfNull(uri);
        var known = new List<string>();
        foreach (var t in transports)
        {
            foreach (var s in t.Schemes)
            {
                if (string.Equals(s, uri.Scheme, StringComparison.OrdinalIgnoreCase))
                {
                    return t;
                }

                known.Add(s);
            }
        }

        throw new MaasException(MaasErrorCode.InvalidArgument,
            $"No transport for '{uri.Scheme}://' (registered: {string.Join(", ", known.Distinct().Select(k => k + "://"))}). Add its package and register it, e.g. AddPipeTransport() or AddTcpTransport().");
    }

    /// <summary>Parses a URI string with a clear error.</summary>
    public static Uri ParseUri(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' is not an absolute URI such as tcp://127.0.0.1:5000 or pipe:///tmp/model.sock.");
        }

        return parsed;
    }
}
