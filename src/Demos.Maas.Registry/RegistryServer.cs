using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Registry;

/// <summary>
/// A registry service: Kestrel with <see cref="RegistryEndpointRouteBuilderExtensions.MapMaasRegistry"/>,
/// write authentication by key, and the health monitor probing in the background. What
/// <c>maas registry serve</c> runs.
/// </summary>
public sealed class RegistryServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stop = new();
    private Task _monitor = Task.CompletedTask;

    private RegistryServer(WebApplication app, IRegistryStore store)
    {
        _app = app;
        Store = store;
    }

    /// <summary>The address it listens on (the real port when 0 was asked for).</summary>
    public Uri Uri { get; private set; } = null!;

    /// <summary>The store it serves.</summary>
    public IRegistryStore Store { get; }

    /// <summary>Opens and migrates the store, starts listening and starts the health monitor.</summary>
    /// <exception cref="RegistryException">RegistryUnavailable: the store cannot be opened or the address bound.</exception>
    public static async Task<RegistryServer> StartAsync(RegistryServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(options.Listen, UriKind.Absolute, out var listen) || listen.Scheme != "http" || !IPAddress.TryParse(listen.Host.Trim('[', ']'), out var ip))
        {
            throw new RegistryException(RegistryError.MalformedReference, $"'{options.Listen}': the registry listens on http://ip:port (e.g. http://127.0.0.1:8470).", "listen");
        }

        var store = RegistryStore.Open(options.Store);
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not RegistryException)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new RegistryException(RegistryError.RegistryUnavailable, $"Cannot open the registry store ({store.Kind}): {ex.Message}", null, ex);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(ip, listen.Port);
        });
        RegistryServiceCollectionExtensions.AddKeyAuthentication(builder.Services, options.KeyHash);
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMaasRegistry(store);
        var server = new RegistryServer(app, store);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            await store.DisposeAsync().ConfigureAwait(false);
            throw new RegistryException(RegistryError.RegistryUnavailable, $"Cannot listen on {options.Listen}: {ex.Message}", null, ex);
        }

        server.Uri = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var monitor = new RegistryHealthMonitor(store, options.Transports, options.ProbeTimeout);
        server._monitor = Task.Run(() => monitor.RunAsync(options.ProbeInterval, server._stop.Token), CancellationToken.None);
        return server;
    }

    /// <summary>Stops the monitor and Kestrel (requests still open get up to 5 s) and closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _monitor.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is what was asked for.
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await Store.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
