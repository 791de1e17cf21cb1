using Demos.Maas.Client;
using Demos.Maas.Server;
using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Demos.Maas;

/// <summary>Registers MaaS servers, clients and transports in a service collection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Adds a <see cref="MaasServer"/> (also as an <see cref="IHostedService"/>, so a generic host
    /// starts and drains it). Add models and middleware on the returned builder.
    /// </summary>
    public static IMaasServerBuilder AddMaasServer(this IServiceCollection services, Action<MaasServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<MaasServerOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddInProcessTransport();
        services.TryAddSingleton(sp =>
        {
            var server = new MaasServer(
                sp.GetRequiredService<IOptions<MaasServerOptions>>().Value,
                sp.GetServices<IMaasTransport>(),
                sp.GetService<ILoggerFactory>());
            foreach (var registration in sp.GetServices<ModelRegistration>())
            {
                server.AddModel(registration.Create(sp));
            }

            foreach (var middleware in sp.GetServices<MiddlewareRegistration>())
            {
                server.Use(middleware.Create(sp));
            }

            return server;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MaasServerHostedService>());
        return new MaasServerBuilder(services);
    }

    /// <summary>Adds a <see cref="MaasClientFactory"/> that connects with the registered transports and these options.</summary>
    public static IServiceCollection AddMaasClient(this IServiceCollection services, Action<MaasClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<MaasClientOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddInProcessTransport();
        services.TryAddSingleton<MaasClientFactory>();
        return services;
    }

    /// <summary>Registers the <c>inproc://</c> transport.</summary>
    public static IServiceCollection AddInProcessTransport(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, InProcessTransport>());
        return services;
    }

    private sealed class MaasServerBuilder(IServiceCollection services) : IMaasServerBuilder
    {
        public IServiceCollection Services { get; } = services;

        public IMaasServerBuilder AddModel(IModel model)
        {
            ArgumentNullException.ThrowIfNull(model);
            Services.AddSingleton(new ModelRegistration(_ => model));
            return this;
        }

        public IMaasServerBuilder AddModel(Func<IModel> factory, int workers)
        {
            Services.AddSingleton(new ModelRegistration(_ => Middleware.ModelWorkers.Create(factory, workers)));
            return this;
        }

        public IMaasServerBuilder AddModel(Func<IServiceProvider, IModel> factory)
        {
            Services.AddSingleton(new ModelRegistration(factory));
            return this;
        }

        public IMaasServerBuilder Use(Func<IServiceProvider, Func<MaasDelegate, MaasDelegate>> middleware)
        {
            Services.AddSingleton(new MiddlewareRegistration(middleware));
            return this;
        }
    }

    private sealed record ModelRegistration(Func<IServiceProvider, IModel> Create);

    private sealed record MiddlewareRegistration(Func<IServiceProvider, Func<MaasDelegate, MaasDelegate>> Create);

    private sealed class MaasServerHostedService(MaasServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);
    }
}

/// <summary>Adds models and middleware to a server registered with <c>AddMaasServer</c>.</summary>
public interface IMaasServerBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }

    /// <summary>Hosts a model instance.</summary>
    IMaasServerBuilder AddModel(IModel model);

    /// <summary>Hosts a model that is not thread-safe on <paramref name="workers"/> instances made by <paramref name="factory"/>.</summary>
    IMaasServerBuilder AddModel(Func<IModel> factory, int workers);

    /// <summary>Hosts a model made from services.</summary>
    IMaasServerBuilder AddModel(Func<IServiceProvider, IModel> factory);

    /// <summary>Adds a server middleware (in registration order, first = outermost).</summary>
    IMaasServerBuilder Use(Func<IServiceProvider, Func<MaasDelegate, MaasDelegate>> middleware);
}

/// <summary>Makes connected clients from DI's transports and options.</summary>
public sealed class MaasClientFactory(IEnumerable<IMaasTransport> transports, IOptions<MaasClientOptions> options, ILoggerFactory? loggerFactory = null)
{
    /// <summary>Connects to <see cref="MaasClientOptions.Uri"/>.</summary>
    public Task<MaasClient> ConnectAsync(CancellationToken cancellationToken = default) =>
        ConnectAsync(options.Value.Uri ?? throw new InvalidOperationException("MaasClientOptions.Uri is not set; pass a URI."), cancellationToken);

    /// <summary>Connects to <paramref name="uri"/>.</summary>
    public Task<MaasClient> ConnectAsync(string uri, CancellationToken cancellationToken = default)
    {
        var effective = options.Value.Clone();
        effective.LoggerFactory ??= loggerFactory;
        var configured = effective.Transports.ToList();
        effective.Transports.Clear();
        foreach (var t in transports.Concat(configured))
        {
            effective.Transports.Add(t);
        }

        return MaasClient.ConnectAsync(uri, effective, cancellationToken);
    }
}
