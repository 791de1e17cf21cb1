using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.Transports.Http;

/// <summary>DI registration of the HTTP transport.</summary>
public static class HttpTransportServiceCollectionExtensions
{
    /// <summary>Registers <c>http://</c> and <c>http+unix://</c> (server: REST routes, probes, metrics, and <paramref name="configure"/>'s extra routes; client: one REST request per call).</summary>
    public static IServiceCollection AddHttpTransport(this IServiceCollection services, Action<HttpTransportOptions>? configure = null)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, HttpTransport>(_ =>
        {
            var options = new HttpTransportOptions();
            configure?.Invoke(options);
            return new HttpTransport(options);
        }));
        return services;
    }
}
