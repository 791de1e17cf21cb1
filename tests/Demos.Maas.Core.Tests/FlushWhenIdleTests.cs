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
    public async Task The_timer_of_a_request_that_already_left_does_not_send_a_younger_one_early()
    {
        var delay = TimeSpan.FromSeconds(1);
        using var batcher = new DynamicBatcher(new BatchingOptions { FlushWhenIdle = true, MaxQueueDelay = delay });

        // Each batch waits for a gate of its own, opened by the test.
        var batches = System.Threading.Channels.Channel.CreateUnbounded<TaskCompletionSource>();
        var pipeline = batcher.Middleware()(async context =>
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            batches.Writer.TryWrite(gate);
            await gate.Task;
            var x = context.Request.X!;
            var y = DoubleMatrix.Rent(x.Rows, 1);
            x.Span.CopyTo(y.Span);
            context.Response = new MaasResponse { Y = y };
        });
        async Task<TaskCompletionSource> NextBatchAsync() => await batches.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(1));

        // A runs; B waits for it and arms the timer (one second from B's arrival).
        var contexts = new[] { BatchRecorder.Call(1), BatchRecorder.Call(2), BatchRecorder.Call(3) };
        var a = pipeline(contexts[0]).AsTask();
        var gateA = await NextBatchAsync();
        var b = pipeline(contexts[1]).AsTask();

        // Half a second later A returns and B leaves with the idle flush; C arrives while B runs.
        await Task.Delay(delay / 2);
        gateA.SetResult();
        var gateB = await NextBatchAsync();
        long cArrived = System.Diagnostics.Stopwatch.GetTimestamp();
        var c = pipeline(contexts[2]).AsTask();

        // B is held: C leaves on the timer, once it has waited the whole delay itself (the timer
        // armed for B would have sent it after half of it).
        var gateC = await NextBatchAsync();
        var waited = System.Diagnostics.Stopwatch.GetElapsedTime(cArrived);
        Assert.True(waited >= delay, $"C left after {waited.TotalMilliseconds} ms of a {delay.TotalMilliseconds} ms delay");

        gateB.SetResult();
        gateC.SetResult();
        await Task.WhenAll(a, b, c).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal([1.0, 2.0, 3.0], contexts.Select(context => context.Response!.Y!.Span[0]));
        Assert.True(batcher.TimerFlushes >= 1);
    }

    [Fact]
    public async Task A_delay_below_a_millisecond_is_waited_whole_not_dropped()
    {
        // .NET's timers drop the part of a due time below a millisecond: 200 µs would fire at once.
        var delay = TimeSpan.FromMicroseconds(200);
        using var batcher = new DynamicBatcher(new BatchingOptions { MaxQueueDelay = delay });
        var recorder = new BatchRecorder();
        recorder.Gate.SetResult();
        var pipeline = batcher.Middleware()(recorder.Next);
        for (int i = 0; i < 5; i++)
        {
            long sent = System.Diagnostics.Stopwatch.GetTimestamp();
            await pipeline(BatchRecorder.Call(i)).AsTask().WaitAsync(TimeSpan.FromMinutes(1));
            var waited = System.Diagnostics.Stopwatch.GetElapsedTime(sent);
            Assert.True(waited >= delay, $"call {i} was answered after {waited.TotalMicroseconds} µs, before its {delay.TotalMicroseconds} µs delay");
        }

        Assert.Equal(5, batcher.TimerFlushes);
    }

    [Fact]
    public async Task Delays_out_of_a_timers_range_neither_throw_nor_lose_a_call()
    {
        foreach (var delay in new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(-5), TimeSpan.MaxValue })
        {
            using var batcher = new DynamicBatcher(new BatchingOptions { MaxQueueDelay = delay, MaxBatchRows = 2 });
            var recorder = new BatchRecorder();
            recorder.Gate.SetResult();
            var pipeline = batcher.Middleware()(recorder.Next);

            // The first arms the timer, the second fills the batch (a 49-day timer never fires here).
            var first = BatchRecorder.Call(1);
            var second = BatchRecorder.Call(2);
            var calls = new[] { pipeline(first).AsTask(), pipeline(second).AsTask() };
            await Task.WhenAll(calls).WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(2.0, first.Response!.Y!.Span[0]);
            Assert.Equal(4.0, second.Response!.Y!.Span[0]);
        }

        // No timer at all: a lone call leaves only when a second fills the batch.
        using var untimed = new DynamicBatcher(new BatchingOptions { MaxQueueDelay = Timeout.InfiniteTimeSpan, MaxBatchRows = 2 });
        var gate = new BatchRecorder();
        gate.Gate.SetResult();
        var untimedPipeline = untimed.Middleware()(gate.Next);
        var lone = untimedPipeline(BatchRecorder.Call(3)).AsTask();
        await Task.Delay(50);
        Assert.False(lone.IsCompleted);
        await untimedPipeline(BatchRecorder.Call(4)).AsTask().WaitAsync(TimeSpan.FromMinutes(1));
        await lone.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal([2], gate.Rows);
        Assert.Equal(0, untimed.TimerFlushes);
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
