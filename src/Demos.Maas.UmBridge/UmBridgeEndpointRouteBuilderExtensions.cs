using Demos.Maas.Server;
using Demos.Maas.Transports.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Demos.Maas.UmBridge;

/// <summary>Maps UM-Bridge 1.0's routes for a <see cref="MaasServer"/>'s models into an ASP.NET Core application.</summary>
public static class UmBridgeEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/Info</c>, <c>/ModelInfo</c>, <c>/InputSizes</c>, <c>/OutputSizes</c>, <c>/Evaluate</c>,
    /// <c>/Gradient</c>, <c>/ApplyJacobian</c> and <c>/ApplyHessian</c> (docs/http.md §UM-Bridge), each
    /// call run through the server's middleware and models. The returned builder applies conventions
    /// to all of them.
    /// </summary>
    public static IEndpointConventionBuilder MapUmBridge(this IEndpointRouteBuilder endpoints, MaasServer server)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(server);
        var group = endpoints.MapGroup("");
        new UmBridgeEndpoints(server).Map(group);
        return group;
    }

    /// <summary>Serves UM-Bridge's routes beside MaaS's own on every host this HTTP transport starts.</summary>
    public static HttpTransportOptions AddUmBridgeRoutes(this HttpTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Routes.Add(static (endpoints, server) => endpoints.MapUmBridge(server));
        return options;
    }
}
