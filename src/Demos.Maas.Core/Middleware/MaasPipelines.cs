using Microsoft.Extensions.Logging;

namespace Demos.Maas.Middleware;

/// <summary>
/// The order of the built-in middleware, defined here and only here (docs/architecture.md explains it):
/// <code>
/// server: telemetry → [audit → rate limit → authorization] → your middleware → result cache → dynamic batching → dispatcher → IModel
/// client: telemetry → your middleware → result cache → retries → coalescing → connection
/// </code>
/// Telemetry is outermost so it counts every call, cache hits included. The security steps (when
/// <c>MaasServerOptions.Security</c> is set) come next: the audit log sees refused calls too, the rate
/// limit spends nothing on a flood, and authorization runs before the cache, so a refused caller
/// never gets a cached result. The
/// cache sits outside batching and retries: a hit costs neither a queue wait nor a round trip.
/// Retries sit outside coalescing, so a retried call can join a new batch.
/// </summary>
internal static class MaasPipelines
{
    /// <summary>Builds the server pipeline.</summary>
    public static MaasDelegate BuildServer(MaasDelegate dispatcher, MaasPipelineBuilder security, MaasPipelineBuilder user, ILogger? usageLog, ResultCache? cache, DynamicBatcher? batcher, Func<string?, IModel?> resolve)
    {
        ArgumentNullException.ThrowIfNull(user);
        var pipeline = new MaasPipelineBuilder();
        pipeline.Use(TelemetryMiddleware.Create(usageLog));
        pipeline.UseAll(security);
        pipeline.UseAll(user);
        if (cache is not null)
        {
            pipeline.Use(ResultCacheMiddleware.Create(cache, resolve));
        }

        if (batcher is not null)
        {
            pipeline.Use(batcher.Middleware(resolve));
        }

        return pipeline.Build(dispatcher);
    }

    /// <summary>Builds the client pipeline.</summary>
    public static MaasDelegate BuildClient(MaasDelegate terminal, MaasPipelineBuilder user, ILogger? usageLog, ResultCache? cache, RetryOptions? retry, DynamicBatcher? coalescer)
    {
        ArgumentNullException.ThrowIfNull(user);
        var pipeline = new MaasPipelineBuilder();
        pipeline.Use(TelemetryMiddleware.Create(usageLog));
        pipeline.UseAll(user);
        if (cache is not null)
        {
            pipeline.Use(ResultCacheMiddleware.Create(cache));
        }

        if (retry is not null)
        {
            pipeline.Use(RetryMiddleware.Create(retry));
        }

        if (coalescer is not null)
        {
            pipeline.Use(coalescer.Middleware());
        }

        return pipeline.Build(terminal);
    }
}
