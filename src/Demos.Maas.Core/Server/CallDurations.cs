using System.Collections.Concurrent;
using System.Diagnostics;
using Demos.Maas.Protocol;

namespace Demos.Maas.Server;

/// <summary>
/// How long recent calls of each model and operation took, so a connection can run the quick ones
/// on its read loop. Handing a call to the thread pool costs a thread wake-up (tens of µs on a busy
/// machine), more than a fast model's whole call; but a slow call run inline would hold up every
/// request behind it on that connection. Calls are queued until their model has shown it is quick.
/// </summary>
/// <remarks>
/// This sits on every call's path, so it is kept cheap: a connection remembers the series of the
/// last model and operation it asked for (a string comparison instead of hashing the model's name
/// into a concurrent dictionary), and the calls of a series known to be quick are timed one in
/// <see cref="QuickTimingInterval"/> (reading the clock twice took about 50 ns of a 1-point call's
/// ~850 ns on the server here).
/// </remarks>
internal sealed class CallDurations
{
    /// <summary>Calls whose recent average is under this run inline on the connection's read loop.</summary>
    public static readonly TimeSpan InlineBelow = TimeSpan.FromMicroseconds(30);

    /// <summary>One call in this many of a quick series is timed; every call of any other series is.</summary>
    public const int QuickTimingInterval = 8;

    // Inline only small batches: the duration seen for one point says little about 10^5 points.
    private const long InlineMaxValues = 4096;

    private static readonly long InlineBelowTicks = (long)(InlineBelow.TotalSeconds * Stopwatch.Frequency);

    private readonly ConcurrentDictionary<(string Model, Operation Operation), Series> _series = new();

    /// <summary>The series <paramref name="request"/>'s duration belongs to; null for streams, which are never timed.</summary>
    public Series? Of(MaasRequest request)
    {
        var recent = default(Recent);
        return Of(request, ref recent);
    }

    /// <summary>
    /// <see cref="Of(MaasRequest)"/>, looking first at the series <paramref name="recent"/> found last
    /// (a connection keeps one: its requests are read one at a time, and mostly name one model).
    /// </summary>
    public Series? Of(MaasRequest request, ref Recent recent)
    {
        if (request.Operation is Operation.Sample or Operation.ReadData)
        {
            return null;
        }

        string model = request.Model ?? "";
        if (recent.Series is { } known && recent.Operation == request.Operation && string.Equals(recent.Model, model, StringComparison.Ordinal))
        {
            return known;
        }

        var series = _series.GetOrAdd((model, request.Operation), static _ => new Series());
        recent = new Recent(model, request.Operation, series);
        return series;
    }

    /// <summary>The recent durations of one model's operation.</summary>
    internal sealed class Series
    {
        private long _ticks = long.MaxValue;
        private int _calls;

        /// <summary>The recent average in Stopwatch ticks; <see cref="long.MaxValue"/> before the first.</summary>
        public long Ticks => Volatile.Read(ref _ticks);

        /// <summary>True when <paramref name="request"/> is a small unary call and this series' calls have been quick.</summary>
        public bool IsQuickFor(MaasRequest request) =>
            (request.X?.Length ?? 0) + (request.Vector?.Length ?? 0) <= InlineMaxValues && Ticks < InlineBelowTicks;

        /// <summary>
        /// Whether to time the call about to start: every call until the series is quick, then one
        /// in <see cref="QuickTimingInterval"/>. A quick model that turns slow is still seen within
        /// that many calls; the average then leaves the quick range at once (a slow call weighs an eighth).
        /// </summary>
        public bool ShouldTime() => Ticks >= InlineBelowTicks || (unchecked(_calls++) % QuickTimingInterval) == 0;

        /// <summary>Records one call's duration (Stopwatch ticks): an exponential average (weight 1/8); racing updates may lose one sample, which is harmless.</summary>
        public void Add(long ticks)
        {
            long old = Volatile.Read(ref _ticks);
            Volatile.Write(ref _ticks, old == long.MaxValue ? ticks : old + ((ticks - old) / 8));
        }
    }

    /// <summary>The series a connection found last, with its model and operation.</summary>
    internal readonly record struct Recent(string Model, Operation Operation, Series? Series);
}
