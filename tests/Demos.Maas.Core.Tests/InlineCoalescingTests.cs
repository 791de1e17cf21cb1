using Demos.Maas.Middleware;
using Demos.Maas.Models;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// A client's coalescer with inline completions: the callers of a merged call resume on the thread
/// that completes it, before the next merged call leaves.
/// </summary>
public sealed class InlineCoalescingTests
{
    [Fact]
    public async Task Callers_that_await_their_next_call_when_resumed_all_join_the_next_merged_call()
    {
        const int Callers = 8;
        const int CallsEach = 20;
        using var batcher = new DynamicBatcher(new BatchingOptions { FlushWhenIdle = true, MaxQueueDelay = TimeSpan.FromHours(1) }, inlineCompletions: true);
        var rows = new List<int>();
        var firstGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Answers y = 2x on another thread, as a connection does: the first call once the test
        // opens the gate (so every caller has queued behind it), later ones after a hop to the pool.
        async ValueTask Next(MaasCallContext context)
        {
            var x = context.Request.X!;
            bool first;
            lock (rows)
            {
                rows.Add(x.Rows);
                first = rows.Count == 1;
            }

            if (first)
            {
                await firstGate.Task;
            }
            else
            {
                await Task.Yield();
            }

            var y = DoubleMatrix.Rent(x.Rows, 1);
            for (int i = 0; i < x.Rows; i++)
            {
                y.Span[i] = 2 * x.Span[i];
            }

            context.Response = new MaasResponse { Y = y };
        }

        var pipeline = batcher.Middleware()(Next);

        async Task Caller(int caller)
        {
            for (int call = 0; call < CallsEach; call++)
            {
                double x = (caller * 100) + call;
                var context = BatchRecorder.Call(x);

                // Not back to the test framework's synchronisation context: the caller resumes where its answer completes.
                await pipeline(context).ConfigureAwait(false);
                Assert.Equal(2 * x, context.Response!.Y!.Span[0]);
            }
        }

        var callers = Enumerable.Range(0, Callers).Select(Caller).ToList();
        firstGate.SetResult();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromMinutes(1));

        // The first caller alone; then every caller's next call in each merged call (the first
        // caller is a call ahead of the others, so it finishes one merged call earlier).
        int[] expected = [1, .. Enumerable.Repeat(Callers, CallsEach - 1), Callers - 1];
        Assert.Equal(expected, rows);
        Assert.Equal(0, batcher.TimerFlushes);
    }

    [Fact]
    public async Task A_caller_that_gives_up_stops_waiting_and_the_others_get_their_rows()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { FlushWhenIdle = true, MaxQueueDelay = TimeSpan.FromHours(1) }, inlineCompletions: true);
        var recorder = new BatchRecorder();
        var pipeline = batcher.Middleware()(recorder.Next);

        var first = BatchRecorder.Call(0.5);
        var running = pipeline(first).AsTask();
        await recorder.Entered.Task.WaitAsync(TimeSpan.FromMinutes(1));

        using var giveUp = new CancellationTokenSource();
        var leaving = BatchRecorder.Call(1, giveUp.Token);
        var staying = BatchRecorder.Call(2);
        var left = pipeline(leaving).AsTask();
        var stays = pipeline(staying).AsTask();

        await giveUp.CancelAsync();
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => left.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(giveUp.Token, cancelled.CancellationToken);

        recorder.Gate.SetResult();
        await Task.WhenAll(running, stays).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1.0, first.Response!.Y!.Span[0]);
        Assert.Equal(4.0, staying.Response!.Y!.Span[0]);

        // The caller that gave up before its batch left was not sent.
        Assert.Equal([1, 1], recorder.Rows);
    }

    [Fact]
    public async Task A_client_with_coalescing_and_inline_completions_gives_every_caller_its_own_answers()
    {
        var model = new CountingModel("inline-coalesced");
        await using var h = await MiddlewareHarness.StartAsync([model.Model],
            client: c =>
            {
                c.Coalescing = new BatchingOptions { FlushWhenIdle = true };
                c.InlineCompletions = true;
            });
        var remote = await h.Client.GetModelAsync("inline-coalesced");
        var callers = Enumerable.Range(0, 16).Select(async caller =>
        {
            for (int call = 0; call < 50; call++)
            {
                double x = (caller * 0.25) + (call * 0.01);
                Assert.Equal(CountingModel.LogDensity(x, 0), await remote.LogDensityAsync([x]));
            }
        });
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(16 * 50, h.Client.Coalescer!.MergedRequests);
        Assert.True(model.LogDensityCalls < 16 * 50, $"{model.LogDensityCalls} model calls for 800 coalesced ones");
    }
}
