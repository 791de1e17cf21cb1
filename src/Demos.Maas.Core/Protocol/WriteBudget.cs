using System.IO.Pipelines;

namespace Demos.Maas.Protocol;

/// <summary>
/// What one connection may have waiting to be written, and how long a write may stall. A peer that
/// sends requests but does not read answers would otherwise make the server hold every answer in
/// memory (HTTP/2 flow control and Kestrel's minimum data rate solve the same problem).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore is never waited on with a timeout, so it holds no wait handle to dispose.")]
internal sealed class WriteBudget
{
    // Streams that may compute their next chunk at once on one connection: enough for parallel
    // streams to overlap, few enough that chunks computed before the budget notices stay bounded.
    private const int Producers = 4;

    private readonly long _limit;
    private readonly TimeSpan _writeTimeout;
    private readonly Action _onStalled;
    private readonly SemaphoreSlim _producers = new(Producers, Producers);
    private readonly Lock _lock = new();
    private TaskCompletionSource _room = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _queued;

    public WriteBudget(long limit, TimeSpan writeTimeout, Action onStalled)
    {
        _limit = limit;
        _writeTimeout = writeTimeout;
        _onStalled = onStalled;
    }

    /// <summary>Bytes waiting to be written or being written now.</summary>
    public long Queued => Volatile.Read(ref _queued);

    /// <summary>Highest <see cref="Queued"/> seen.</summary>
    public long Peak { get; private set; }

    public void Add(long bytes)
    {
        long now = Interlocked.Add(ref _queued, bytes);
        if (now > Peak)
        {
            Peak = now;
        }
    }

    public void Remove(long bytes)
    {
        if (Interlocked.Add(ref _queued, -bytes) <= _limit)
        {
            lock (_lock)
            {
                _room.TrySetResult();
            }
        }
    }

    /// <summary>Completes when what is queued is within the budget.</summary>
    public async ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource room;
            lock (_lock)
            {
                if (Volatile.Read(ref _queued) <= _limit)
                {
                    return;
                }

                if (_room.Task.IsCompleted)
                {
                    _room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                room = _room;
            }

            await room.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for room, then for one of the few producer slots; release with <see cref="ReleaseProducer"/>.</summary>
    public async ValueTask EnterProducerAsync(CancellationToken cancellationToken)
    {
        await _producers.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _producers.Release();
            throw;
        }
    }

    public void ReleaseProducer() => _producers.Release();

    /// <summary>Awaits a flush; one that takes longer than the write timeout closes the connection.</summary>
    /// <exception cref="TimeoutException">The peer accepted no frame in time; the connection is being aborted.</exception>
    public async Task<FlushResult> WithWriteTimeoutAsync(Task<FlushResult> flush)
    {
        try
        {
            return await flush.WaitAsync(_writeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Aborting fails the stuck flush and frees the write lock for everyone queued behind it.
            _ = flush.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            _onStalled();
            throw new TimeoutException($"The peer accepted no frame for {_writeTimeout.TotalSeconds:0.#} s; closing the connection.");
        }
    }
}
