using Demos.Maas.Registry;
using Demos.Maas.Security;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Http;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Shm;
using Demos.Maas.Transports.Tcp;
using Demos.Maas.UmBridge;
using Microsoft.Extensions.DependencyInjection;

namespace Demos.Maas;

/// <summary>
/// The one transport registration of the programs we ship (the <c>maas</c> tool and the native
/// library): every transport that needs no outside runtime, and <c>maas://uuid[@version]</c>
/// resolved through the registry named by <c>MAAS_REGISTRY</c>. MPI is registered where an MPI
/// runtime was initialised (<c>maas mpi-worker</c>, <c>MpiCluster</c>).
/// </summary>
internal static class StandardTransports
{
    public static IServiceCollection AddStandardTransports(this IServiceCollection services, MaasTlsOptions? tls = null) =>
        services.AddInProcessTransport()
            .AddPipeTransport()
            .AddShmTransport()
            .AddTcpTransport(tls)
            .AddHttpTransport(http =>
            {
                http.AddUmBridgeRoutes();
                http.Tls = tls;
            })
            .AddUmBridgeClient()
            .AddMaasRegistryResolver();

    /// <summary>The registered transports, in registration order; <paramref name="tls"/> configures tls:// and https://.</summary>
    public static IMaasTransport[] Create(MaasTlsOptions? tls = null)
    {
        using var provider = new ServiceCollection().AddStandardTransports(tls).BuildServiceProvider();
        return [.. provider.GetServices<IMaasTransport>()];
    }
}
