using Demos.Maas.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// Maps a <see cref="MaasServer"/>'s routes into any ASP.NET Core application (as grpc-dotnet's
/// <c>MapGrpcService</c> does), so they run behind the application's own authentication,
/// authorization, rate limiting, CORS and health checks.
/// </summary>
public static class MaasEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the REST routes under <c>/v1</c> (docs/http.md). Every call runs through the server's
    /// middleware and models, as on any other transport. The returned builder applies conventions to
    /// all of them, e.g. <c>app.MapMaas(server).RequireAuthorization()</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapMaas(this IEndpointRouteBuilder endpoints, MaasServer server)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(server);
        var v1 = endpoints.MapGroup("/v1");
        new RestEndpoints(server).Map(v1);
        return v1;
    }

    /// <summary>
    /// Maps the probes: <c>/health/live</c> (200 while the process serves) and <c>/health/ready</c>
    /// (200 until the server starts draining, then 503), for load balancers and Kubernetes.
    /// </summary>
    public static IEndpointConventionBuilder MapMaasHealth(this IEndpointRouteBuilder endpoints, MaasServer server)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(server);
        var health = endpoints.MapGroup("/health");
        health.MapGet("/live", new RequestDelegate(static ctx => WriteTextAsync(ctx, 200, "live\n")));
        health.MapGet("/ready", new RequestDelegate(ctx => server.IsDraining ? WriteTextAsync(ctx, 503, "draining\n") : !server.IsReady ? WriteTextAsync(ctx, 503, "a listener is down\n") : WriteTextAsync(ctx, 200, "ready\n")));
        return health;
    }

    private static Task WriteTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }
}
