using System.Globalization;
using System.Threading.RateLimiting;
using Demos.Maas.Protocol;

namespace Demos.Maas.Security;

/// <summary>
/// Token buckets per caller and per model, and a concurrency limit per caller
/// (System.Threading.RateLimiting). A refused call fails at once with ResourceExhausted and a
/// <c>retry_after_ms</c> detail; nothing queues, so a flood costs the server no memory.
/// </summary>
internal sealed class RateLimitMiddleware : IDisposable
{
    public const string RetryAfterDetail = "retry_after_ms";

    private readonly PartitionedRateLimiter<MaasCallContext> _limiter;

    public RateLimitMiddleware(MaasRateLimitOptions options)
    {
        var limiters = new List<PartitionedRateLimiter<MaasCallContext>>
        {
            PartitionedRateLimiter.Create<MaasCallContext, string>(c => RateLimitPartition.GetTokenBucketLimiter(CallerOf(c), _ => Bucket(options.CallsPerSecond, options.Burst))),
        };
        if (options.MaxConcurrentPerCaller > 0)
        {
            limiters.Add(PartitionedRateLimiter.Create<MaasCallContext, string>(c => RateLimitPartition.GetConcurrencyLimiter(CallerOf(c), _ => new ConcurrencyLimiterOptions { PermitLimit = options.MaxConcurrentPerCaller, QueueLimit = 0 })));
        }

        if (options.ModelCallsPerSecond > 0)
        {
            limiters.Add(PartitionedRateLimiter.Create<MaasCallContext, string>(c => RateLimitPartition.GetTokenBucketLimiter("model:" + (c.Request.Model ?? ""), _ => Bucket(options.ModelCallsPerSecond, Math.Max(1, (int)options.ModelCallsPerSecond)))));
        }

        _limiter = limiters.Count == 1 ? limiters[0] : PartitionedRateLimiter.CreateChained([.. limiters]);
    }

    public Func<MaasDelegate, MaasDelegate> Middleware => next => async context =>
    {
        var lease = _limiter.AttemptAcquire(context);
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after) ? after : TimeSpan.FromMilliseconds(100);
            lease.Dispose();
            long ms = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalMilliseconds));
            throw new MaasException(MaasErrorCode.ResourceExhausted, $"Rate limit reached; retry after {ms} ms.", new Dictionary<string, string> { [RetryAfterDetail] = ms.ToString(CultureInfo.InvariantCulture) });
        }

        bool streaming = false;
        try
        {
            await next(context).ConfigureAwait(false);
            if (context.Stream is { } stream)
            {
                // A stream holds its concurrency permit until it ends.
                streaming = true;
                context.Stream = ReleaseAtEnd(stream, lease);
            }
        }
        finally
        {
            if (!streaming)
            {
                lease.Dispose();
            }
        }
    };

    public void Dispose() => _limiter.Dispose();

    private static async IAsyncEnumerable<DoubleMatrix> ReleaseAtEnd(IAsyncEnumerable<DoubleMatrix> stream, RateLimitLease lease)
    {
        using (lease)
        {
            await foreach (var chunk in stream.ConfigureAwait(false))
            {
                yield return chunk;
            }
        }
    }

    private static string CallerOf(MaasCallContext context) =>
        context.User?.Identity?.Name is { Length: > 0 } name ? "id:" + name : "addr:" + (context.RemoteAddress ?? "unknown");

    // Tokens come back in steps of at most 100 ms, so a fast rate needs no millisecond timer.
    private static TokenBucketRateLimiterOptions Bucket(double perSecond, int burst)
    {
        perSecond = Math.Max(perSecond, 0.001);
        var period = perSecond >= 10 ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1 / perSecond);
        int tokens = Math.Max(1, (int)Math.Round(perSecond * period.TotalSeconds));
        return new TokenBucketRateLimiterOptions { TokenLimit = Math.Max(1, burst), TokensPerPeriod = tokens, ReplenishmentPeriod = period, QueueLimit = 0, AutoReplenishment = true };
    }
}
