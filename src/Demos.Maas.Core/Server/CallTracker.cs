namespace Demos.Maas.Server;

/// <summary>
/// Counts running calls and lets a drain await the moment none is left, instead of polling a
/// counter on a timer.
/// </summary>
internal sealed class CallTracker
{
    private int _running;
    private TaskCompletionSource? _idle;

    /// <summary>Calls running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>A call started.</summary>
    public void Enter() => Interlocked.Increment(ref _running);

    /// <summary>A call ended.</summary>
    public void Leave()
    {
        if (Interlocked.Decrement(ref _running) == 0)
        {
            Volatile.Read(ref _idle)?.TrySetResult();
        }
    }

    /// <summary>Completes once no call runs (at once if none does), or when <paramref name="cancellationToken"/> fires (then it does not throw).</summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        while (Running > 0 && !cancellationToken.IsCancellationRequested)
        {
            var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var current = Interlocked.CompareExchange(ref _idle, idle, null) ?? idle;
            if (Running == 0)
            {
                current.TrySetResult();
            }

            try
            {
                await current.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // A later call may have started after that signal: arm a fresh one and look again.
            Interlocked.CompareExchange(ref _idle, null, current);
        }
    }
}
