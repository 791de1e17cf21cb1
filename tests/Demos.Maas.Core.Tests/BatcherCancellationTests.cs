using Demos.Maas.Middleware;
using Demos.Maas.Models;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>Callers of the batcher that give up: before their batch leaves, while it runs, and all of them at once.</summary>
public sealed class BatcherCancellationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_caller_that_gives_up_while_its_batch_runs_stops_waiting_and_the_others_get_their_rows()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { MaxBatchRows = 3, MaxQueueDelay = TimeSpan.FromHours(1) });
        var recorder = new BatchRecorder();
        var pipeline = batcher.Middleware()(recorder.Next);
        using var second = new CancellationTokenSource();

        var contexts = new[] { BatchRecorder.Call(1, CancellationToken.None), BatchRecorder.Call(2, second.Token), BatchRecorder.Call(3, CancellationToken.None) };
        var calls = contexts.Select(c => pipeline(c).AsTask()).ToArray();
        var mergedToken = await recorder.Entered.Task.WaitAsync(Patience);

        // The gate is still closed: the second caller is answered by its own token, not by the batch.
        await second.CancelAsync();
        var gaveUp = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => calls[1].WaitAsync(Patience));
        Assert.Equal(second.Token, gaveUp.CancellationToken);
        Assert.False(mergedToken.IsCancellationRequested);

        recorder.Gate.SetResult();
        await Task.WhenAll(calls[0], calls[2]).WaitAsync(Patience);
        Assert.Equal(2.0, contexts[0].Response!.Y!.Span[0]);
        Assert.Equal(6.0, contexts[2].Response!.Y!.Span[0]);
        Assert.Null(contexts[1].Response);
        Assert.Equal([3], recorder.Rows);
    }

    [Fact]
    public async Task When_every_caller_of_a_merged_call_gives_up_the_merged_call_is_cancelled()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { MaxBatchRows = 3, MaxQueueDelay = TimeSpan.FromHours(1) });
        var recorder = new BatchRecorder();
        var pipeline = batcher.Middleware()(recorder.Next);
        var sources = Enumerable.Range(0, 3).Select(_ => new CancellationTokenSource()).ToArray();

        var calls = sources.Select((s, i) => pipeline(BatchRecorder.Call(i, s.Token)).AsTask()).ToArray();
        var mergedToken = await recorder.Entered.Task.WaitAsync(Patience);

        await sources[0].CancelAsync();
        await sources[1].CancelAsync();
        Assert.False(mergedToken.IsCancellationRequested);
        await sources[2].CancelAsync();
        Assert.True(mergedToken.IsCancellationRequested);
        foreach (var call in calls)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Patience));
        }

        foreach (var source in sources)
        {
            source.Dispose();
        }
    }

    [Fact]
    public async Task A_caller_that_gave_up_before_its_batch_left_is_not_sent()
    {
        using var batcher = new DynamicBatcher(new BatchingOptions { MaxBatchRows = 3, MaxQueueDelay = TimeSpan.FromHours(1) });
        var recorder = new BatchRecorder();
        recorder.Gate.SetResult();
        var pipeline = batcher.Middleware()(recorder.Next);
        using var first = new CancellationTokenSource();

        var early = pipeline(BatchRecorder.Call(1, first.Token)).AsTask();
        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => early.WaitAsync(Patience));

        // Two more fill the batch of three rows; the one that gave up is left out of it.
        var later = new[] { BatchRecorder.Call(2, CancellationToken.None), BatchRecorder.Call(3, CancellationToken.None) };
        await Task.WhenAll(later.Select(c => pipeline(c).AsTask())).WaitAsync(Patience);
        Assert.Equal([2], recorder.Rows);
        Assert.Equal(4.0, later[0].Response!.Y!.Span[0]);
        Assert.Equal(6.0, later[1].Response!.Y!.Span[0]);
    }

    [Fact]
    public async Task Callers_giving_up_at_random_moments_never_leave_a_merged_call_waiting()
    {
        // The model waits until its call is cancelled, so every model call ends only if it learns that all
        // its callers gave up, at whatever moment around the start of their batch each of them did.
        using var batcher = new DynamicBatcher(new BatchingOptions { MaxBatchRows = 4, MaxQueueDelay = TimeSpan.FromMilliseconds(1) });
        int cancelledModelCalls = 0;
        var pipeline = batcher.Middleware()(async context =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref cancelledModelCalls);
                throw;
            }
        });

        var random = new Random(7);
        for (int round = 0; round < 200; round++)
        {
            var sources = Enumerable.Range(0, 4).Select(_ => new CancellationTokenSource()).ToArray();
            var calls = new List<Task>();
            foreach (var source in sources)
            {
                bool yieldFirst = random.Next(2) == 0;
                calls.Add(Task.Run(async () =>
                {
                    if (yieldFirst)
                    {
                        await Task.Yield();
                    }

                    await pipeline(BatchRecorder.Call(1, source.Token));
                }));
            }

            foreach (var source in sources.OrderBy(_ => random.Next()))
            {
                if (random.Next(3) == 0)
                {
                    await Task.Yield();
                }

                await source.CancelAsync();
            }

            foreach (var call in calls)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Patience));
            }

            foreach (var source in sources)
            {
                source.Dispose();
            }
        }

        // Every model call that started is cancelled (none is left waiting for ever). A model call learns
        // of it on its own thread, possibly after its callers returned.
        using var patience = new CancellationTokenSource(Patience);
        while (Volatile.Read(ref cancelledModelCalls) < batcher.ModelCalls && !patience.IsCancellationRequested)
        {
            await Task.Delay(10, CancellationToken.None);
        }

        Assert.True(batcher.ModelCalls > 0);
        Assert.Equal(batcher.ModelCalls, Volatile.Read(ref cancelledModelCalls));
    }
}
