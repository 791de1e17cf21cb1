using System.Diagnostics;
using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;

namespace Demos.Maas.Middleware;

/// <summary>Client retry settings.</summary>
public sealed class RetryOptions
{
    /// <summary>Attempts in all, the first included. Default 4.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>Backoff before the first retry; doubles each time (full jitter). Default 20 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Largest backoff. Default 1 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Give parameter updates without an update id a fresh one, so they can be retried safely (the
    /// server applies an update id once). Off: updates without an id are never retried.
    /// </summary>
    public bool MakeUpdatesIdempotent { get; set; } = true;
}

/// <summary>
/// Retries calls that failed with Unavailable (connection lost, server draining), or with
/// ResourceExhausted carrying a retry-after hint (a rate limit), when repeating
/// them cannot change the outcome: every read-only operation, and parameter updates that carry an
/// update id. Backoff is exponential with full jitter; a call's deadline covers all its attempts.
/// Streams are retried only if they fail before their first chunk.
/// </summary>
internal static class RetryMiddleware
{
    /// <summary>The middleware.</summary>
    public static Func<MaasDelegate, MaasDelegate> Create(RetryOptions? options = null)
    {
        options ??= new RetryOptions();
        return next => async context =>
        {
            var request = context.Request;
            if (request.Operation == Operation.UpdateParameters && request.Update is { UpdateId: null } update && options.MakeUpdatesIdempotent)
            {
                request.Update = new ParameterUpdate { Values = update.Values, UpdateId = Guid.NewGuid().ToString("N") };
            }

            bool idempotent = request.Operation != Operation.UpdateParameters || request.Update?.UpdateId is not null;
            long started = Stopwatch.GetTimestamp();
            var budget = context.Timeout;
            for (int attempt = 1; ; attempt++)
            {
                if (budget is { } total)
                {
                    var left = total - Stopwatch.GetElapsedTime(started);
                    if (left <= TimeSpan.Zero)
                    {
                        throw new MaasException(MaasErrorCode.DeadlineExceeded, $"The deadline of {total.TotalMilliseconds:0.###} ms passed after {attempt - 1} attempts.");
                    }

                    context.Timeout = left;
                }

                try
                {
                    await next(context).ConfigureAwait(false);
                    if (context.Stream is { } stream && idempotent && attempt < options.MaxAttempts)
                    {
                        context.Stream = RetryBeforeFirstChunk(stream, next, context, options, attempt, started, budget);
                    }

                    return;
                }
                catch (MaasException ex) when (ex.Code == MaasErrorCode.Unavailable && idempotent && attempt < options.MaxAttempts && !context.CancellationToken.IsCancellationRequested)
                {
                    MaasTelemetry.Retries.Add(1, new TagList { { "maas.operation", request.Operation.ToString() } });
                    await Task.Delay(Backoff(options, attempt), context.CancellationToken).ConfigureAwait(false);
                }
                catch (MaasException ex) when (RetryAfter(ex) is { } wait && idempotent && attempt < options.MaxAttempts && !context.CancellationToken.IsCancellationRequested
                    && (budget is not { } limit || Stopwatch.GetElapsedTime(started) + wait < limit))
                {
                    // A server over its rate limit said when to come back: wait that long (it was not carried out, so repeating is safe).
                    MaasTelemetry.Retries.Add(1, new TagList { { "maas.operation", request.Operation.ToString() } });
                    await Task.Delay(wait, context.CancellationToken).ConfigureAwait(false);
                }
            }
        };
    }

    /// <summary>The wait a ResourceExhausted answer asks for (<c>retry_after_ms</c>, from a rate limit), or null.</summary>
    internal static TimeSpan? RetryAfter(MaasException ex) =>
        ex.Code == MaasErrorCode.ResourceExhausted && ex.Details is { } details
        && details.TryGetValue(Security.RateLimitMiddleware.RetryAfterDetail, out var text)
        && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ms)
            ? TimeSpan.FromMilliseconds(Math.Min(ms, 60_000))
            : null;

    private static TimeSpan Backoff(RetryOptions options, int attempt)
    {
        double ceiling = Math.Min(options.MaxBackoff.TotalMilliseconds, options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }

    private static async IAsyncEnumerable<DoubleMatrix> RetryBeforeFirstChunk(IAsyncEnumerable<DoubleMatrix> stream, MaasDelegate next, MaasCallContext context, RetryOptions options, int attempt, long started, TimeSpan? budget, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var current = stream;
        while (true)
        {
            var enumerator = current.GetAsyncEnumerator(cancellationToken);
            bool first;
            try
            {
                first = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.Unavailable && attempt < options.MaxAttempts && !context.CancellationToken.IsCancellationRequested)
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
                attempt++;
                MaasTelemetry.Retries.Add(1, new TagList { { "maas.operation", context.Request.Operation.ToString() } });
                await Task.Delay(Backoff(options, attempt - 1), context.CancellationToken).ConfigureAwait(false);
                if (budget is { } total)
                {
                    var left = total - Stopwatch.GetElapsedTime(started);
                    if (left <= TimeSpan.Zero)
                    {
                        throw new MaasException(MaasErrorCode.DeadlineExceeded, $"The deadline of {total.TotalMilliseconds:0.###} ms passed after {attempt - 1} attempts.");
                    }

                    context.Timeout = left;
                }

                context.Stream = null;
                await next(context).ConfigureAwait(false);
                current = context.Stream ?? throw new MaasException(MaasErrorCode.Internal, "The retried call produced no stream.");
                continue;
            }

            try
            {
                if (!first)
                {
                    yield break;
                }

                yield return enumerator.Current;
                while (await enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    yield return enumerator.Current;
                }

                yield break;
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
