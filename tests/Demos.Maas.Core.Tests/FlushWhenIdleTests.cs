using Demos.Maas.Middleware;
using Demos.Maas.Models;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>The batcher's idle flushing, driven directly: a pipeline end that the test opens and closes.</summary>
public sealed class FlushWhenIdleTests
{
    private static readonly IModel Gaussian = GaussianModel.Create(1);

    private static MaasCallContext Call(double x) =>
        new(new MaasRequest { Operation = Operation.LogDensity, Model = "gaussian1d", X = DoubleMatrix.FromColumn(x) }, isServer: true, CancellationToken.None)
        {
            Model = Gaussian,
        };

    // The end of the pipeline: records the rows of every call it is given, answers y = 2x once the gate opens.
    private sealed class Recorder
    {
        private readonly object _lock = new();

        public List<int> Rows { get; } = [];

        public TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource FirstCall { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask Next(MaasCallContext context)
        {
            var x = context.Request.X!;
            lock (_lock)
            {
                Rows.Add(x.Rows);
            }

            FirstCall.TrySetResult();
            await Gate.Task;
            var y = DoubleMatrix.Rent(x.Rows, 1);
            for (int i = 0; i < x.Rows; i++)
            {
                y.Span[i] = 2 * x.Span[i];
            }

            context.Response = new MaasResponse { Y = y };
        }
    }

    [Fact]
    public async Task A_lone_call_is_passed_on_at_once_without_waiting_for_the_timer()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { FlushWhenIdle = true, MaxQueueDelay = TimeSpan.FromHours(1) });
        var recorder = new Recorder();
        recorder.Gate.SetResult();
        var pipeline = batcher.Middleware()(recorder.Next);

        // With a one-hour delay and no idle flushing this call would wait an hour.
        var context = Call(1.5);
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
        var recorder = new Recorder();
        var pipeline = batcher.Middleware()(recorder.Next);

        var first = Call(0.5);
        var running = pipeline(first).AsTask();
        await recorder.FirstCall.Task.WaitAsync(TimeSpan.FromMinutes(1));

        var contexts = Enumerable.Range(1, 10).Select(i => Call(i)).ToList();
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
        var recorder = new Recorder();
        recorder.Gate.SetResult();
        var pipeline = batcher.Middleware()(recorder.Next);
        await pipeline(Call(1)).AsTask().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, batcher.TimerFlushes);
        Assert.Equal(0, batcher.IdleFlushes);
    }
}
