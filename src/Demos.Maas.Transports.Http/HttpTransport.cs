using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Demos.Maas.Client;
using Demos.Maas.Server;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// The <c>http://host:port[/prefix]</c> and <c>http+unix:///path.sock</c> transport. Server side it
/// starts a <see cref="MaasHttpHost"/> (Kestrel with <see cref="MaasEndpointRouteBuilderExtensions.MapMaas"/>)
/// for the <see cref="MaasServer"/> that listens; client side each call becomes one REST request
/// (a call invoker, no framing), so retries, caching, coalescing and deadlines work over HTTP
/// unchanged. One pooled <see cref="HttpClient"/> per endpoint is shared by all clients of the transport.
/// </summary>
public sealed class HttpTransport : IMaasCallInvokerFactory, IMaasRouteHostFactory, IDisposable
{
    /// <summary>The scheme for HTTP over a Unix domain socket.</summary>
    public const string UnixScheme = "http+unix";

    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);

    /// <summary>Creates the transport.</summary>
    public HttpTransport(HttpTransportOptions? options = null) => Options = options ?? new HttpTransportOptions();

    /// <summary>Client settings, and the extra routes a host maps beside MaaS's own.</summary>
    public HttpTransportOptions Options { get; }

    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme is "http" or "https" or UnixScheme;

    /// <summary>The socket file of an <c>http+unix</c> URI.</summary>
    public static string SocketPath(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var path = Uri.UnescapeDataString(uri.AbsolutePath);
        if (!string.IsNullOrEmpty(uri.Host))
        {
            path = uri.Host + path; // http+unix://rel/m.sock: a relative path, as pipe:// does.
        }

        if (string.IsNullOrEmpty(path) || path == "/")
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' names no socket file; use http+unix:///path/to/m.sock.");
        }

        return path;
    }

    /// <inheritdoc/>
    public async ValueTask<MaasCallInvoker> ConnectAsync(Uri uri, MaasClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(options);
        // The invoker's callers resume on the connections' receiving threads (which hand receiving
        // over to a new thread when a caller holds one while a read waits).
        var (client, baseUri) = ClientFor(uri, inlineReads: true);
        return await HttpCallInvoker.ConnectAsync(client, baseUri, Options.HttpVersion, uri, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The pooled client and base address for <paramref name="uri"/> (also used by the UM-Bridge client).</summary>
    public (HttpClient Client, Uri BaseUri) ClientFor(Uri uri) => ClientFor(uri, inlineReads: false);

    // inlineReads: the client's code resumes on the receiving thread of the connection that read an
    // answer (the stream hands receiving over when that code holds the thread while a read waits);
    // otherwise on a thread-pool thread. Each kind has its own pooled clients.
    private (HttpClient Client, Uri BaseUri) ClientFor(Uri uri, bool inlineReads)
    {
        string kind = inlineReads ? "inline " : "";
        if (string.Equals(uri.Scheme, UnixScheme, StringComparison.OrdinalIgnoreCase))
        {
            string path = SocketPath(uri);
            return (_clients.GetOrAdd(kind + "unix:" + path, _ => Create(path, inlineReads)), new Uri("http://localhost/"));
        }

        if (uri.Scheme is not ("http" or "https"))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' is not an http:// URI.");
        }

        var builder = new UriBuilder(uri.Scheme, uri.Host, uri.Port < 0 ? (uri.Scheme == "https" ? 443 : 80) : uri.Port, uri.AbsolutePath.TrimEnd('/') + "/");
        var baseUri = builder.Uri;
        return (_clients.GetOrAdd(kind + baseUri.GetLeftPart(UriPartial.Authority), _ => Create(null, inlineReads)), baseUri);
    }

    // https://: the CA of Options.Tls (or the system's), and a client certificate for mutual TLS.
    private System.Net.Security.SslClientAuthenticationOptions ClientTls()
    {
        var options = new System.Net.Security.SslClientAuthenticationOptions();
        if (Options.Tls?.TrustedCaPath is { } ca)
        {
            options.RemoteCertificateValidationCallback = Security.TlsCertificates.TrustOnly(Security.TlsCertificates.LoadCa(ca), checkName: true);
        }

        if (Options.Tls?.CertificatePath is { } certificate)
        {
            options.ClientCertificates = [Security.TlsCertificates.Load(certificate, Options.Tls.KeyPath)];
        }

        if (Options.Tls?.ServerName is { } name)
        {
            options.TargetHost = name;
        }

        return options;
    }

    private HttpClient Create(string? socketPath, bool inlineReads)
    {
        var receiveSpin = Options.ReceiveSpinTime;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = Options.PooledConnectionIdleTimeout,
            ConnectTimeout = Options.ConnectTimeout,
            MaxConnectionsPerServer = Options.MaxConnectionsPerServer,
            EnableMultipleHttp2Connections = true,
            SslOptions = ClientTls(),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,

            // A stream the client stopped reading is cancelled by closing its connection at once
            // (the server then cancels the model); draining an endless stream would only delay that.
            MaxResponseDrainSize = 0,
        };
        if (socketPath is not null)
        {
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await Transports.UnixSocketFile.ConnectAsync(socket, new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return Transports.SocketConnections.WrapStream(socket, inlineReads, receiveSpin);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        else
        {
            handler.ConnectCallback = async (context, ct) =>
            {
                // Nagle off, as the tcp:// transport: small request bodies must not wait for an ACK.
                var socket = await Transports.SocketConnections.ConnectTcpAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, static s => s.NoDelay = true, ct).ConfigureAwait(false);
                try
                {
                    return Transports.SocketConnections.WrapStream(socket, inlineReads, receiveSpin);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        return new HttpClient(handler)
        {
            DefaultRequestVersion = Options.HttpVersion,
            DefaultVersionPolicy = Options.HttpVersion.Major >= 2 ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <inheritdoc/>
    public async ValueTask<IMaasListener> StartAsync(MaasServer server, Uri uri, CancellationToken cancellationToken = default) =>
        await MaasHttpHost.StartAsync(server, uri, Options, cancellationToken).ConfigureAwait(false);

    /// <summary>Releases the pooled clients.</summary>
    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        _clients.Clear();
    }
}
