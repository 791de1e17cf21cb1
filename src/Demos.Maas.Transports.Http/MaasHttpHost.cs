using System.Net;
using Demos.Maas.Server;
using Demos.Maas.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// A thin Kestrel host around <see cref="MaasEndpointRouteBuilderExtensions.MapMaas"/>: the REST
/// routes under <c>/v1</c>, the probes, <c>/metrics</c> (docs/http.md), and any extra routes of the
/// transport's options (UM-Bridge's). Usually created by <c>server.ListenAsync("http://127.0.0.1:8080")</c>
/// with an <see cref="HttpTransport"/> registered; the server drains its calls before it disposes
/// the host, which then stops Kestrel.
/// </summary>
public sealed class MaasHttpHost : IMaasListener
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PrometheusMetrics _metrics = new();
    private int _disposed;

    private MaasHttpHost(MaasServer server, WebApplication app)
    {
        Server = server;
        _app = app;
    }

    /// <summary>The server whose models are served.</summary>
    public MaasServer Server { get; }

    /// <summary>The web application's services (for tests of what the host registered).</summary>
    internal IServiceProvider Services => _app.Services;

    /// <inheritdoc/>
    public Uri Uri { get; private set; } = null!;

    /// <summary>True while the host accepts new calls (the readiness probe's answer).</summary>
    public bool IsReady => !Server.IsDraining && Volatile.Read(ref _disposed) == 0;

    /// <summary>Starts Kestrel on <paramref name="uri"/> (<c>http://ip:port</c>, port 0 = a free port, or <c>http+unix:///path.sock</c>), with the routes and safety settings of <paramref name="options"/>.</summary>
    public static async Task<MaasHttpHost> StartAsync(MaasServer server, Uri uri, HttpTransportOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(uri);
        var builder = WebApplication.CreateSlimBuilder();

        // The host is a component of the MaasServer, not an application: no appsettings.json or
        // ASPNETCORE_* settings may add endpoints, and signals are the server owner's business
        // (a console lifetime would stop Kestrel on SIGTERM before the server drained).
        builder.Configuration.Sources.Clear();
        builder.Services.AddSingleton<IHostLifetime, ComponentLifetime>();
        options ??= new HttpTransportOptions();
        ConfigureSafety(builder, server, uri, options);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);

        // This category only logs each request's start and end (Information), yet while any level of it
        // is enabled ASP.NET Core starts an Activity for every request, listened to or not.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        string? socketPath = null;
        if (string.Equals(uri.Scheme, HttpTransport.UnixScheme, StringComparison.OrdinalIgnoreCase))
        {
            // Checked before Kestrel binds: only a file nobody answers on is removed (a live server keeps its socket).
            socketPath = HttpTransport.SocketPath(uri);
            Transports.UnixSocketFile.RemoveIfStale(socketPath, uri);
        }

        // Without TLS, Kestrel cannot offer both versions on one endpoint (no ALPN): HTTP/1.1 by default,
        // cleartext HTTP/2 with prior knowledge ("h2c") on an endpoint asked for with "?http=2".
        var protocols = uri.Query.Contains("http=2", StringComparison.Ordinal) ? HttpProtocols.Http2 : HttpProtocols.Http1;

        // TCP endpoints are received by a thread per connection (Unix sockets keep Kestrel's transport).
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>(new ReceivingThreadTransportFactory(options.ReceiveSpinTime));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = server.Options.MaxFrameBytes;
            if (string.Equals(uri.Scheme, HttpTransport.UnixScheme, StringComparison.OrdinalIgnoreCase))
            {
                k.ListenUnixSocket(socketPath!, l => l.Protocols = protocols);
            }
            else if (string.Equals(uri.Scheme, "https", StringComparison.OrdinalIgnoreCase))
            {
                // With TLS, ALPN lets one endpoint offer HTTP/1.1 and HTTP/2.
                var https = Https(uri, options.Tls);
                k.Listen(ParseAddress(uri), uri.Port < 0 ? 443 : uri.Port, l =>
                {
                    l.Protocols = HttpProtocols.Http1AndHttp2;
                    l.UseHttps(https);
                });
            }
            else if (string.Equals(uri.Scheme, "http", StringComparison.OrdinalIgnoreCase))
            {
                k.Listen(ParseAddress(uri), uri.Port < 0 ? 80 : uri.Port, l => l.Protocols = protocols);
            }
            else
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}': the HTTP transport listens on http://ip:port, https://ip:port or http+unix:///path.sock.");
            }
        });

        var app = builder.Build();
        var host = new MaasHttpHost(server, app);
        UseSafety(app, server, options);
        host.MapRoutes(app, options);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            if (ex is IOException)
            {
                throw new MaasException(MaasErrorCode.Unavailable, $"Cannot listen on {uri}: {ex.Message}", ex);
            }

            throw;
        }

        if (socketPath is not null)
        {
            host.Uri = new Uri($"{HttpTransport.UnixScheme}://{socketPath}{uri.Query}");
        }
        else
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            host.Uri = new Uri(address + (uri.Query.Length > 0 ? "/" + uri.Query : ""));
        }

        return host;
    }

    private static Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions Https(Uri uri, Security.MaasTlsOptions? tls)
    {
        if (tls?.CertificatePath is not { } certificate)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{uri}: an https:// server needs a certificate and key (HttpTransportOptions.Tls; maas cert new makes a test set).");
        }

        var https = new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions { ServerCertificate = Security.TlsCertificates.Load(certificate, tls.KeyPath) };
        if (tls.TrustedCaPath is { } ca)
        {
            var validate = Security.TlsCertificates.TrustOnly(Security.TlsCertificates.LoadCa(ca), checkName: false);
            https.ClientCertificateMode = tls.RequireClientCertificate ?? true
                ? Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate
                : Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate;
            https.ClientCertificateValidation = (cert, chain, errors) => validate(uri, cert, chain, errors);
        }

        return https;
    }

    private static IPAddress ParseAddress(Uri uri)
    {
        var host = uri.Host.Trim('[', ']');
        if (host is "localhost")
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(host, out var ip) ? ip
            : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}': listen on an IP address (127.0.0.1, [::1], 0.0.0.0) or localhost, not '{uri.Host}'.");
    }

    private void MapRoutes(WebApplication app, HttpTransportOptions options)
    {
        app.MapMaas(Server);
        if (options.ExposeHealth)
        {
            app.MapMaasHealth(Server);
        }

        if (options.ExposeMetrics)
        {
            app.MapGet("/metrics", new RequestDelegate(ctx =>
            {
                ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                return ctx.Response.WriteAsync(_metrics.Render(), ctx.RequestAborted);
            }));
        }

        foreach (var map in options.Routes)
        {
            map(app, Server);
        }
    }

    // Browser-facing safety, with ASP.NET Core's own middleware: host filtering against DNS
    // rebinding, CORS only for configured origins, and the server's keys as an authentication scheme.
    private static void ConfigureSafety(WebApplicationBuilder builder, MaasServer server, Uri uri, HttpTransportOptions options)
    {
        var hosts = options.AllowedHosts.Count > 0 ? [.. options.AllowedHosts] : new List<string> { "localhost", "127.0.0.1", "[::1]", "::1" };
        if (options.AllowedHosts.Count == 0 && !string.IsNullOrEmpty(uri.Host) && uri.Host is not ("0.0.0.0" or "[::]"))
        {
            hosts.Add(uri.Host);
        }

        // The web host's defaults put a host filter of their own first in the pipeline, with the same
        // options: UseSafety puts the one filter in its place, so each request is checked once.
        for (int i = builder.Services.Count - 1; i >= 0; i--)
        {
            if (builder.Services[i] is { ServiceType: var type, ImplementationType.Name: "HostFilteringStartupFilter" } && type == typeof(IStartupFilter))
            {
                builder.Services.RemoveAt(i);
            }
        }

        builder.Services.Configure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o =>
        {
            o.AllowedHosts = hosts;
            o.AllowEmptyHosts = true;
            o.IncludeFailureMessage = false;
        });
        if (options.CorsOrigins.Count > 0)
        {
            builder.Services.AddCors(c => c.AddDefaultPolicy(p => p.WithOrigins([.. options.CorsOrigins]).AllowAnyHeader().WithMethods("GET", "POST", "PUT")));
        }

        if (server.RequiresAuthentication)
        {
            builder.Services.AddAuthentication(MaasKeyAuthenticationHandler.SchemeName).AddMaasKeys(server);
        }
    }

    private static void UseSafety(WebApplication app, MaasServer server, HttpTransportOptions options)
    {
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var hostFiltering = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>>();
        app.Use(next => new RememberingHostFilter(next, loggers, hostFiltering).InvokeAsync);
        if (options.CorsOrigins.Count > 0)
        {
            app.UseCors();
        }

        if (server.RequiresAuthentication)
        {
            app.UseAuthentication();
        }
    }

    /// <summary>Yields no connections (HTTP requests are served by Kestrel); returns null once the host stopped.</summary>
    public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Stops Kestrel (the server drained its calls before, see <see cref="MaasServer.StopAsync"/>), giving requests still open up to 5 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(stopTimeout.Token).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _metrics.Dispose();
            _stopped.TrySetResult();
        }
    }
}

/// <summary>A host lifetime that neither waits for nor reacts to console signals.</summary>
internal sealed class ComponentLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
