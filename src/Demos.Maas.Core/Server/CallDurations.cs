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
internal sealed class CallDurations
{
    /// <summary>Calls whose recent average is under this run inline on the connection's read loop.</summary>
    public static readonly TimeSpan InlineBelow = TimeSpan.FromMicroseconds(30);

    // Inline only small batches: the duration seen for one point says little about 10^5 points.
    private const long InlineMaxValues = 4096;

    private readonly ConcurrentDictionary<(string Model, Operation Operation), Average> _averages = new();

    /// <summary>True when <paramref name="request"/> is a small unary call of a model that has been quick so far.</summary>
    public bool IsQuick(MaasRequest request) =>
        request.Operation is not (Operation.Sample or Operation.ReadData)
        && (request.X?.Length ?? 0) + (request.Vector?.Length ?? 0) <= InlineMaxValues
        && _averages.TryGetValue((request.Model ?? "", request.Operation), out var average)
        && average.Ticks < InlineBelow.TotalSeconds * Stopwatch.Frequency;

    /// <summary>Records one call's duration (Stopwatch ticks).</summary>
    public void Record(MaasRequest request, long ticks)
    {
        if (request.Operation is Operation.Sample or Operation.ReadData)
        {
            return;
        }

        var average = _averages.GetOrAdd((request.Model ?? "", request.Operation), static _ => new Average());
        average.Add(ticks);
    }

    private sealed class Average
    {
        private long _ticks = long.MaxValue;

        public long Ticks => Volatile.Read(ref _ticks);

        // An exponential average (weight 1/8); racing updates may lose one sample, which is harmless.
        public void Add(long ticks)
        {
            long old = Volatile.Read(ref _ticks);
            Volatile.Write(ref _ticks, old == long.MaxValue ? ticks : old + ((ticks - old) / 8));
        }
    }
}
