using Demos.Maas.Middleware;
using Demos.Maas.Models;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>The batcher's idle flushing, driven directly: a pipeline end that the test opens and closes.</summary>
public sealed class FlushWhenIdleTests
{
    [Fact]
    public async Task A_lone_call_is_passed_on_at_once_without_waiting_for_the_timer()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { FlushWhenIdle = true, MaxQueueDelay = TimeSpan.FromHours(1) });
        var recorder = new BatchRecorder();
        recorder.Gate.SetResult();
        var pipeline = batcher.Middleware()(recorder.Next);

        // With a one-hour delay and no idle flushing this call would wait an hour.
        var context = BatchRecorder.Call(1.5);
        await pipeline(context).AsTask().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(3.0, context.Response!.Y!.Span[0]);
        Assert.Equal([1], recorder.Rows);
        Assert.Equal(1, batcher.IdleFlushes);
        Assert.Equal(0, batcher.TimerFlushes);
    }

    [Fact]
    public async Task Calls_that_arrive_while_a_batch_runs_go_out_together_as_soon_as_it_returns()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { FlushWhenIdle = true, MaxQueueDelay = TimeSpan.FromHours(1) });
        var recorder = new BatchRecorder();
        var pipeline = batcher.Middleware()(recorder.Next);

        var first = BatchRecorder.Call(0.5);
        var running = pipeline(first).AsTask();
        await recorder.Entered.Task.WaitAsync(TimeSpan.FromMinutes(1));

        var contexts = Enumerable.Range(1, 10).Select(i => BatchRecorder.Call(i)).ToList();
        var calls = contexts.Select(c => pipeline(c).AsTask()).ToList();

        // Nothing more is passed on while the first batch runs.
        Assert.Equal([1], recorder.Rows);

        recorder.Gate.SetResult();
        await running.WaitAsync(TimeSpan.FromMinutes(1));
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromMinutes(1));

        // The first alone, then the ten that gathered meanwhile as one batch.
        Assert.Equal([1, 10], recorder.Rows);
        Assert.Equal(1.0, first.Response!.Y!.Span[0]);
        for (int i = 0; i < contexts.Count; i++)
        {
            Assert.Equal(2.0 * (i + 1), contexts[i].Response!.Y!.Span[0]);
        }

        Assert.Equal(2, batcher.IdleFlushes);
        Assert.Equal(0, batcher.TimerFlushes);
    }

    [Fact]
    public async Task Without_idle_flushing_a_lone_call_waits_for_the_timer()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { MaxQueueDelay = TimeSpan.FromMilliseconds(20) });
        var recorder = new BatchRecorder();
        recorder.Gate.SetResult();
        var pipeline = batcher.Middleware()(recorder.Next);
        await pipeline(BatchRecorder.Call(1)).AsTask().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, batcher.TimerFlushes);
        Assert.Equal(0, batcher.IdleFlushes);
    }
}
