using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Demos.Maas.UmBridge;

/// <summary>DI registration of the UM-Bridge client.</summary>
public static class UmBridgeServiceCollectionExtensions
{
    /// <summary>Registers <c>umbridge+http://</c> for clients.</summary>
    public static IServiceCollection AddUmBridgeClient(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMaasTransport, UmBridgeTransport>(_ => new UmBridgeTransport()));
        return services;
    }
}
