using System.Diagnostics;
using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;

namespace Demos.Maas.Middleware;

/// <summary>
/// Serves repeated deterministic calls from a <see cref="ResultCache"/>. On the client a hit saves
/// the round trip; on the server one cache serves all clients. Parameter updates passing through
/// invalidate the model's entries.
/// </summary>
internal static class ResultCacheMiddleware
{
    /// <summary>
    /// The middleware. <paramref name="resolve"/> finds the model of a request when the pipeline
    /// has not yet (on the server: the model registry); the client's proxies set it themselves.
    /// </summary>
    public static Func<MaasDelegate, MaasDelegate> Create(ResultCache cache, Func<string?, IModel?>? resolve = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return next => async context =>
        {
            var request = context.Request;
            if (request.Operation == Operation.UpdateParameters)
            {
                try
                {
                    await next(context).ConfigureAwait(false);
                }
                finally
                {
                    // Also on failure: an update whose answer was lost may still have been applied.
                    if ((context.Model ?? TryResolve(resolve, request.Model)) is { } updated)
                    {
                        cache.Invalidate(updated.Info.Uuid);
                    }
                }

                return;
            }

            if (!ResultCache.IsCacheable(request) || request.Cache == CacheMode.Bypass)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var model = context.Model ??= TryResolve(resolve, request.Model);
            if (model is null || !cache.IsEnabledFor(model, request))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var tags = new TagList { { "maas.side", MaasTelemetry.Side(context) }, { "maas.model", model.Info.Name }, { "maas.operation", MaasTelemetry.OperationName(request.Operation) } };
            if (request.Operation is Operation.Sample or Operation.ReadData)
            {
                if (cache.TryGetStream(model, request) is { } cached)
                {
                    MaasTelemetry.CacheHits.Add(1, tags);
                    context.StreamSeed = cached.Seed;
                    context.Stream = Replay(cached);
                    return;
                }

                MaasTelemetry.CacheMisses.Add(1, tags);
                long streamVersion = cache.ParameterVersionOf(model);
                await next(context).ConfigureAwait(false);
                if (context.Stream is { } stream)
                {
                    context.Stream = Capture(stream, cache, model, request, streamVersion, context);
                }

                return;
            }

            if (cache.TryGetMatrix(model, request) is { } hit)
            {
                MaasTelemetry.CacheHits.Add(1, tags);
                context.Response = new MaasResponse { Y = hit };
                return;
            }

            MaasTelemetry.CacheMisses.Add(1, tags);
            long version = cache.ParameterVersionOf(model);
            await next(context).ConfigureAwait(false);
            if (context.Response?.Y is { } y)
            {
                cache.Store(model, request, version, y);
            }
        };
    }

    private static IModel? TryResolve(Func<string?, IModel?>? resolve, string? name)
    {
        if (resolve is null)
        {
            return null;
        }

        try
        {
            return resolve(name);
        }
        catch (MaasException)
        {
            return null; // Unknown model: the dispatcher reports NotFound.
        }
    }

    private static async IAsyncEnumerable<DoubleMatrix> Replay(ResultCache.CachedStream cached)
    {
        int offset = 0;
        foreach (int rows in cached.ChunkRows)
        {
            yield return DoubleMatrix.CopyOf(cached.Values.AsSpan(offset, rows * cached.Columns), rows, cached.Columns);
            offset += rows * cached.Columns;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    // Passes chunks through and, if the stream completes, stores a copy of all of it.
    private static async IAsyncEnumerable<DoubleMatrix> Capture(IAsyncEnumerable<DoubleMatrix> stream, ResultCache cache, IModel model, MaasRequest request, long version, MaasCallContext context, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var values = new List<double>();
        var chunkRows = new List<int>();
        int columns = -1;
        bool tooBig = false;
        await foreach (var chunk in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (!tooBig)
            {
                columns = chunk.Columns;
                chunkRows.Add(chunk.Rows);
                values.AddRange(chunk.Span);
                tooBig = (long)values.Count * sizeof(double) > cache.Options.SizeLimitBytes / 4;
            }

            yield return chunk;
        }

        if (!tooBig)
        {
            cache.Store(model, request, version, new ResultCache.CachedStream([.. values], columns < 0 ? model.Info.InputDimension : columns, [.. chunkRows], context.StreamSeed ?? request.Seed));
        }
    }
}
