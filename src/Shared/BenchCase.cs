using System.Diagnostics;

namespace Demos.Maas;

/// <summary>One measured case of a benchmark: latency percentiles (µs) and throughput.</summary>
internal sealed record BenchResult(int Batch, int Callers, double P50, double P90, double P99, double RequestsPerSecond, double PointsPerSecond);

/// <summary>
/// The measurement loop of <c>maas bench</c> and of the cross-process benchmark report: the same
/// code times a user's server and ours, so their figures compare.
/// </summary>
internal static class BenchCase
{
    /// <summary>
    /// Runs <paramref name="warmup"/> unmeasured calls, and more until <paramref name="warmupTime"/>
    /// has passed, then <paramref name="measured"/> calls of <paramref name="batch"/> points shared
    /// by <paramref name="callers"/> concurrent callers.
    /// </summary>
    /// <remarks>
    /// The time matters more than the count for a JIT-compiled client or server: their code starts
    /// unoptimised and is recompiled only after it has run for a while (tiered compilation), which
    /// takes a second or two of calls; until then a 1-point call takes two to three times as long.
    /// </remarks>
    public static async Task<BenchResult> RunAsync(IModel model, bool evaluate, int batch, int callers, int warmup, TimeSpan warmupTime, int measured, Action<double>? progress, CancellationToken ct)
    {
        using var x = DoubleMatrix.Rent(batch, model.Info.InputDimension);
        for (int i = 0; i < x.Length; i++)
        {
            x.Span[i] = (i % 97) / 97.0;
        }

        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || Stopwatch.GetElapsedTime(warmupStart) < warmupTime; i++)
        {
            using var _ = await CallAsync(model, evaluate, x, ct).ConfigureAwait(false);
        }

        var latencies = new double[measured];
        int next = -1, completed = 0;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
        {
            // Each caller starts on its own thread-pool item, as separate users' callers would.
            await Task.Yield();
            int i;
            while ((i = Interlocked.Increment(ref next)) < measured)
            {
                long start = Stopwatch.GetTimestamp();
                using var y = await CallAsync(model, evaluate, x, ct).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                if (Interlocked.Increment(ref completed) % 50 == 0)
                {
                    progress?.Invoke((double)completed / measured);
                }
            }
        })).ConfigureAwait(false);
        double seconds = wall.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new BenchResult(batch, callers, Percentile(latencies, 0.50), Percentile(latencies, 0.90), Percentile(latencies, 0.99), measured / seconds, measured * (double)batch / seconds);
    }

    /// <summary>The value below which a fraction <paramref name="p"/> of the sorted values lie (nearest rank).</summary>
    public static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];

    private static ValueTask<DoubleMatrix> CallAsync(IModel model, bool evaluate, DoubleMatrix x, CancellationToken ct) =>
        evaluate ? model.EvaluateAsync(x, cancellationToken: ct) : model.LogDensityAsync(x, cancellationToken: ct);
}
