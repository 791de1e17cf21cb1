using System.Diagnostics;
using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Middleware;

/// <summary>
/// Usage and health: counts, latency, in-flight, errors by code, a span per call, and one
/// structured usage line per call (model, operation, points, duration, outcome, caller). Outermost,
/// so it sees every call, cache hits included.
/// </summary>
public static partial class TelemetryMiddleware
{
    /// <summary>The middleware; <paramref name="usageLog"/> receives the usage lines (null: none).</summary>
    public static Func<MaasDelegate, MaasDelegate> Create(ILogger? usageLog = null) => next => context =>
        usageLog is null && !Observed ? next(context) : ObserveAsync(next, context, usageLog);

    // Whether anything takes what a call would record: a meter listener on one of the call
    // instruments, or a span listener. Decided once per call, so a listener that attaches while a
    // call runs sees neither its start nor its end (the in-flight count stays balanced). A call
    // nobody observes then costs no timestamps, tag lists or async frame of its own.
    private static bool Observed =>
        MaasTelemetry.Calls.Enabled || MaasTelemetry.Duration.Enabled || MaasTelemetry.Active.Enabled || MaasTelemetry.Points.Enabled
        || MaasTelemetry.Errors.Enabled || MaasTelemetry.ActivitySource.HasListeners();

    private static async ValueTask ObserveAsync(MaasDelegate next, MaasCallContext context, ILogger? usageLog)
    {
        string side = MaasTelemetry.Side(context);
        string operation = MaasTelemetry.OperationName(context.Request.Operation);
        var activity = StartActivity(context, side, operation);
        var activeTags = new TagList { { "maas.side", side }, { "maas.operation", operation } };
        MaasTelemetry.Active.Add(1, activeTags);
        long started = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
            if (context.Stream is { } stream)
            {
                // A stream's call ends when its last chunk has gone; account for it then.
                // The span and the in-flight count end with the stream, in Observe.
                context.Stream = Observe(stream, context, side, operation, started, activity, activeTags, usageLog);
                return;
            }

            MaasTelemetry.Active.Add(-1, activeTags);
            Record(context, side, operation, started, null, usageLog, activity);
            activity?.Dispose();
        }
        catch (Exception ex)
        {
            MaasTelemetry.Active.Add(-1, activeTags);
            Record(context, side, operation, started, ex, usageLog, activity);
            activity?.Dispose();
            throw;
        }
    }

    private static Activity? StartActivity(MaasCallContext context, string side, string operation)
    {
        if (!MaasTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        Activity? activity;
        if (context.IsServer && context.Request.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var parentContext))
        {
            activity = MaasTelemetry.ActivitySource.StartActivity($"maas.server {operation}", ActivityKind.Server, parentContext);
        }
        else
        {
            activity = MaasTelemetry.ActivitySource.StartActivity($"maas.{side} {operation}", context.IsServer ? ActivityKind.Server : ActivityKind.Client);
            if (!context.IsServer && activity is not null)
            {
                context.Request.TraceParent = activity.Id;
            }
        }

        activity?.SetTag("maas.model", context.Request.Model);
        activity?.SetTag("maas.operation", operation);
        return activity;
    }

    private static async IAsyncEnumerable<DoubleMatrix> Observe(IAsyncEnumerable<DoubleMatrix> stream, MaasCallContext context, string side, string operation, long started, Activity? activity, TagList activeTags, ILogger? usageLog, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long rows = 0;
        Exception? failure = null;
        var enumerator = stream.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                DoubleMatrix chunk;
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    chunk = enumerator.Current;
                }
                catch (Exception ex)
                {
                    failure = ex;
                    throw;
                }

                rows += chunk.Rows;
                yield return chunk;
            }
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
            MaasTelemetry.Active.Add(-1, activeTags);
            context.Items["maas.rows"] = rows;
            Record(context, side, operation, started, failure, usageLog, activity);
            activity?.Dispose();
        }
    }

    private static void Record(MaasCallContext context, string side, string operation, long started, Exception? error, ILogger? usageLog, Activity? activity)
    {
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        string model = MaasTelemetry.ModelName(context);
        string outcome = error switch
        {
            null => "Ok",
            MaasException maas => maas.Code.ToString(),
            OperationCanceledException => nameof(MaasErrorCode.Cancelled),
            _ => context.IsServer ? nameof(MaasErrorCode.ModelError) : nameof(MaasErrorCode.Internal),
        };
        long points = context.TryGetItem("maas.rows", out var r) && r is long rows ? rows : MaasTelemetry.PointsOf(context);
        var tags = new TagList { { "maas.side", side }, { "maas.model", model }, { "maas.operation", operation }, { "maas.outcome", outcome } };
        MaasTelemetry.Calls.Add(1, tags);
        MaasTelemetry.Duration.Record(seconds, tags);
        MaasTelemetry.Points.Add(points, tags);
        if (error is not null)
        {
            MaasTelemetry.Errors.Add(1, new TagList { { "maas.side", side }, { "maas.model", model }, { "maas.operation", operation }, { "maas.error_code", outcome } });
            activity?.SetStatus(ActivityStatusCode.Error, error.Message);
        }

        activity?.SetTag("maas.outcome", outcome);
        activity?.SetTag("maas.points", points);
        if (usageLog is not null)
        {
            LogUsage(usageLog, side, model, operation, points, seconds * 1000, outcome, context.CallerIdentity ?? "-");
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "usage side={Side} model={Model} operation={Operation} points={Points} duration_ms={DurationMs:0.###} outcome={Outcome} caller={Caller}")]
    private static partial void LogUsage(ILogger logger, string side, string model, string operation, long points, double durationMs, string outcome, string caller);
}
