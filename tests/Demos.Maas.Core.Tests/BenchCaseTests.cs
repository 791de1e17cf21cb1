using System.Diagnostics;

namespace Demos.Maas.Core.Tests;

/// <summary>The measurement loop of <c>maas bench</c>: how many calls it makes, and that its warm-up lasts as long as asked.</summary>
public sealed class BenchCaseTests
{
    [Fact]
    public async Task Without_a_warm_up_time_it_makes_exactly_the_warm_up_and_measured_calls()
    {
        var counting = new CountingModel("bench-count");
        var result = await BenchCase.RunAsync(counting.Model, evaluate: false, batch: 3, callers: 2, warmup: 7, TimeSpan.Zero, measured: 11, progress: null, CancellationToken.None);

        Assert.Equal(18, counting.LogDensityCalls);
        Assert.Equal(3, result.Batch);
        Assert.Equal(2, result.Callers);
        Assert.True(result.P50 <= result.P90 && result.P90 <= result.P99);
        Assert.Equal(result.RequestsPerSecond * 3, result.PointsPerSecond, 6);
    }

    [Fact]
    public async Task A_warm_up_time_keeps_calling_until_it_has_passed_even_with_no_warm_up_requests()
    {
        var counting = new CountingModel("bench-warm");
        var warmupTime = TimeSpan.FromMilliseconds(200);
        var clock = Stopwatch.StartNew();
        await BenchCase.RunAsync(counting.Model, evaluate: false, batch: 1, callers: 1, warmup: 0, warmupTime, measured: 5, progress: null, CancellationToken.None);

        Assert.True(clock.Elapsed >= warmupTime, $"returned after {clock.Elapsed}");
        Assert.True(counting.LogDensityCalls > 5, $"{counting.LogDensityCalls} calls: no warm-up call was made");
    }
}
