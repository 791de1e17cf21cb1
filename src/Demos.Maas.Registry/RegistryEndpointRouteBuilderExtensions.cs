using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Demos.Maas.Registry;

/// <summary>Maps the registry into any ASP.NET Core application, as <c>MapMaas</c> maps a model server.</summary>
public static class RegistryEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the REST routes under <c>/v1</c> (docs/registry.md), <c>/health/ready</c> and the HTML page
    /// at <c>/</c>. Writes require <see cref="RegistryServiceCollectionExtensions.WritePolicy"/>: add
    /// <see cref="RegistryServiceCollectionExtensions.AddMaasRegistryAuthentication"/> and
    /// <c>UseAuthentication()</c>/<c>UseAuthorization()</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapMaasRegistry(this IEndpointRouteBuilder endpoints, IRegistryStore store)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(store);
        var v1 = endpoints.MapGroup("/v1");
        new RegistryEndpoints(store).Map(v1, RegistryServiceCollectionExtensions.WritePolicy);
        endpoints.MapGet("/health/ready", new RequestDelegate(static ctx =>
        {
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            return ctx.Response.WriteAsync("ready\n", ctx.RequestAborted);
        }));
        endpoints.MapGet("/", new RequestDelegate(ctx => RegistryPage.WriteAsync(ctx, store)));
        return v1;
    }
}
