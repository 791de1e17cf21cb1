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

            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (context.AnswersFirst)
            {
                // Its answer goes first: a client that sleeps while it waits is woken sooner.
                var rest = new RestOfCall(side, MaasTelemetry.ModelName(context), operation, Points(context), seconds, context.CallerIdentity, activity, usageLog);
                context.AfterAnswer(RestOfCall.Finish, rest);
                return;
            }

            MaasTelemetry.Active.Add(-1, activeTags);
            Record(side, MaasTelemetry.ModelName(context), operation, Points(context), seconds, null, context.CallerIdentity, usageLog, activity);
            activity?.Dispose();
        }
        catch (Exception ex)
        {
            MaasTelemetry.Active.Add(-1, activeTags);
            Record(side, MaasTelemetry.ModelName(context), operation, Points(context), Stopwatch.GetElapsedTime(started).TotalSeconds, ex, context.CallerIdentity, usageLog, activity);
            activity?.Dispose();
            throw;
        }
    }

    /// <summary>What is left of a call's observation once its pipeline has run, done after its answer has gone.</summary>
    /// <remarks>The in-flight tags are made again from side and operation: a <see cref="TagList"/> field would be most of this object's size.</remarks>
    private sealed class RestOfCall(string side, string model, string operation, long points, double seconds, string? caller, Activity? activity, ILogger? usageLog)
    {
        public static readonly Action<object> Finish = static state => ((RestOfCall)state).Run();

        private void Run()
        {
            MaasTelemetry.Active.Add(-1, new TagList { { "maas.side", side }, { "maas.operation", operation } });
            Record(side, model, operation, points, seconds, null, caller, usageLog, activity);
            activity?.Dispose();
        }
    }

    private static long Points(MaasCallContext context) =>
        context.TryGetItem("maas.rows", out var r) && r is long rows ? rows : MaasTelemetry.PointsOf(context);

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
            Record(side, MaasTelemetry.ModelName(context), operation, rows, Stopwatch.GetElapsedTime(started).TotalSeconds, failure, context.CallerIdentity, usageLog, activity);
            activity?.Dispose();
        }
    }

    private static void Record(string side, string model, string operation, long points, double seconds, Exception? error, string? caller, ILogger? usageLog, Activity? activity)
    {
        string outcome = error switch
        {
            null => "Ok",
            MaasException maas => maas.Code.ToString(),
            OperationCanceledException => nameof(MaasErrorCode.Cancelled),
            _ => side == "server" ? nameof(MaasErrorCode.ModelError) : nameof(MaasErrorCode.Internal),
        };
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
            LogUsage(usageLog, side, model, operation, points, seconds * 1000, outcome, caller ?? "-");
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "usage side={Side} model={Model} operation={Operation} points={Points} duration_ms={DurationMs:0.###} outcome={Outcome} caller={Caller}")]
    private static partial void LogUsage(ILogger logger, string side, string model, string operation, long points, double durationMs, string outcome, string caller);
}
