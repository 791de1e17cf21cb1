using System.Diagnostics;
using System.Diagnostics.Metrics;
using Demos.Maas.Protocol;

namespace Demos.Maas.Middleware;

/// <summary>
/// The library's instruments: one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both
/// named "Demos.Maas", so OpenTelemetry (or a <see cref="MeterListener"/>) picks them up by name.
/// </summary>
public static class MaasTelemetry
{
    /// <summary>Name of the meter and of the activity source.</summary>
    public const string Name = "Demos.Maas";

    /// <summary>The meter.</summary>
    public static Meter Meter { get; } = new(Name, "1.0");

    /// <summary>The activity source (spans "maas.client OPERATION" and "maas.server OPERATION").</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, "1.0");

    /// <summary>Calls, tagged maas.side, maas.model, maas.operation, maas.outcome.</summary>
    public static Counter<long> Calls { get; } = Meter.CreateCounter<long>("maas.calls", "{call}", "Calls handled (server) or made (client).");

    /// <summary>Call latency in seconds, same tags as <see cref="Calls"/>.</summary>
    public static Histogram<double> Duration { get; } = Meter.CreateHistogram<double>("maas.call.duration", "s", "Call latency.");

    /// <summary>Calls running now, tagged maas.side, maas.operation.</summary>
    public static UpDownCounter<long> Active { get; } = Meter.CreateUpDownCounter<long>("maas.calls.active", "{call}", "Calls in flight.");

    /// <summary>Points (rows) processed, tagged like <see cref="Calls"/>.</summary>
    public static Counter<long> Points { get; } = Meter.CreateCounter<long>("maas.points", "{point}", "Rows of x sent or rows produced.");

    /// <summary>Failed calls, tagged with maas.error_code.</summary>
    public static Counter<long> Errors { get; } = Meter.CreateCounter<long>("maas.errors", "{call}", "Calls that ended with an error, by code.");

    /// <summary>Result cache hits, tagged maas.side, maas.model, maas.operation.</summary>
    public static Counter<long> CacheHits { get; } = Meter.CreateCounter<long>("maas.cache.hits", "{call}", "Calls answered from the result cache.");

    /// <summary>Result cache misses.</summary>
    public static Counter<long> CacheMisses { get; } = Meter.CreateCounter<long>("maas.cache.misses", "{call}", "Cacheable calls not found in the result cache.");

    /// <summary>Rows per merged model call, tagged maas.side, maas.model, maas.operation, maas.flush (size|timer).</summary>
    public static Histogram<long> BatchRows { get; } = Meter.CreateHistogram<long>("maas.batch.rows", "{point}", "Rows per batched model call.");

    /// <summary>Calls merged into one model call.</summary>
    public static Histogram<long> BatchCalls { get; } = Meter.CreateHistogram<long>("maas.batch.calls", "{call}", "Caller requests merged into one model call.");

    /// <summary>Retries made by the client.</summary>
    public static Counter<long> Retries { get; } = Meter.CreateCounter<long>("maas.retries", "{call}", "Attempts repeated after Unavailable.");

    internal static string Side(MaasCallContext context) => context.IsServer ? "server" : "client";

    internal static string ModelName(MaasCallContext context) => context.Model?.Info.Name ?? context.Request.Model ?? "";

    internal static long PointsOf(MaasCallContext context) =>
        context.Request.X?.Rows ?? (context.Request.Operation is Protocol.Operation.Sample or Protocol.Operation.ReadData ? Math.Max(0, context.Request.Count) : 0);

    private static readonly string[] OperationNames = [.. Enumerable.Range(0, 64).Select(i => ((Operation)i).ToString())];

    /// <summary>The operation's name, without boxing the enum (Enum.ToString would, once per call).</summary>
    internal static string OperationName(Operation operation) => (uint)operation < (uint)OperationNames.Length ? OperationNames[(int)operation] : operation.ToString();
}
