using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.Transports.Http;

/// <summary>DI registration of the HTTP transport.</summary>
public static class HttpTransportServiceCollectionExtensions
{
    /// <summary>Registers <c>http://</c> and <c>http+unix://</c> (server: REST, UM-Bridge, probes, metrics; client: the REST adapter).</summary>
    public static IServiceCollection AddHttpTransport(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, HttpTransport>(_ => new HttpTransport()));
        return services;
    }
}
