using System.Diagnostics;

namespace Demos.Maas.Transports.Shm.Tests;

/// <summary>The wait of a receiving thread before it sleeps: how many turns it is given, and when it ends.</summary>
public sealed class SpinWindowTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    public void A_window_of_no_time_never_spins(int pauseTurns)
    {
        var window = SpinWindow.Of(TimeSpan.Zero, pauseTurns);
        Assert.False(window.Spin());
        Assert.False(SpinWindow.Of(TimeSpan.FromMilliseconds(-1), pauseTurns).Spin());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    [InlineData(100_000)]
    public void A_window_spins_until_its_time_has_passed_whatever_its_pause_turns(int pauseTurns)
    {
        var time = TimeSpan.FromMilliseconds(5);
        var window = SpinWindow.Of(time, pauseTurns);
        var clock = Stopwatch.StartNew();
        long turns = 0;
        while (window.Spin())
        {
            turns++;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the window never ended");
        }

        Assert.True(clock.Elapsed >= time, $"the window ended after {clock.Elapsed.TotalMilliseconds} ms, before its {time.TotalMilliseconds} ms");
        Assert.True(turns > 0);
        Assert.False(window.Spin());
    }

    [Fact]
    public void A_reset_starts_a_new_window()
    {
        var window = SpinWindow.Of(TimeSpan.FromMilliseconds(1), pauseTurns: 8);
        while (window.Spin())
        {
        }

        window.Reset();
        Assert.True(window.Spin());
    }
}
