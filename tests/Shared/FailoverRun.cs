using Demos.Maas.Models;

namespace Demos.Maas.Tests;

/// <summary>
/// A run of 1-point log-density calls on eight concurrent workers against gaussian1d, with a fault
/// injected once a fifth of them are done: the failover tests count how many came back right.
/// </summary>
internal static class FailoverRun
{
    public static async Task<int> RunAsync(IModel model, int calls, Func<Task> fault, TimeSpan limit)
    {
        int next = -1, correct = 0;
        var fifth = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task WorkerAsync()
        {
            for (int i = Interlocked.Increment(ref next); i < calls; i = Interlocked.Increment(ref next))
            {
                double x = i / (double)calls;
                if (await model.LogDensityAsync([x]) == GaussianModel.LogDensityOf([x], [0.0], [1.0]))
                {
                    Interlocked.Increment(ref correct);
                }

                if (i == calls / 5)
                {
                    fifth.TrySetResult();
                }
            }
        }

        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(WorkerAsync)).ToArray();
        await fifth.Task.WaitAsync(limit);
        await fault();
        await Task.WhenAll(workers).WaitAsync(limit);
        return correct;
    }
}
