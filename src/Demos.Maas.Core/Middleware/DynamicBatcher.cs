using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Demos.Maas.Protocol;

namespace Demos.Maas.Middleware;

/// <summary>Dynamic batching settings (the shape of Triton's dynamic batcher).</summary>
public sealed class BatchingOptions
{
    /// <summary>Most rows in one merged call; reaching it flushes at once. Default 1024.</summary>
    public int MaxBatchRows { get; set; } = 1024;

    /// <summary>
    /// Longest a request waits for others to join its batch. Default 1 ms. The wait is a .NET
    /// timer, which counts whole milliseconds: a shorter delay is rounded up to the next whole
    /// millisecond (at least one), and the timer may fire a few milliseconds late on a busy
    /// machine. A request never leaves on the timer before it has waited this long. Zero or less
    /// counts as the shortest wait (1 ms), longer than 49 days as 49 days, and
    /// <see cref="Timeout.InfiniteTimeSpan"/> as no timer at all (only a full batch, or
    /// <see cref="FlushWhenIdle"/>, sends).
    /// </summary>
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Requests with more rows than this are not merged (they are batches already). Default 64.</summary>
    public int MaxRowsPerRequest { get; set; } = 64;

    /// <summary>
    /// Passes a request on at once when no batch of its kind is running, and sends the requests that
    /// arrive meanwhile as one batch as soon as the running one returns (or when
    /// <see cref="MaxQueueDelay"/> passes or <see cref="MaxBatchRows"/> fill up first). Few callers
    /// then wait for no timer, and many callers get batches as large as the load. Default false:
    /// every batch waits up to <see cref="MaxQueueDelay"/> for company. Suits client coalescing,
    /// where one batch in flight at a time is what the connection carries best.
    /// </summary>
    public bool FlushWhenIdle { get; set; }

    /// <summary>Models (names or uuids) to batch; empty = every model.</summary>
    public ISet<string> Models { get; } = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>
/// Merges concurrent LogDensity or Evaluate calls of one model (same operation, same theta, same
/// width) into one model call, and gives each caller exactly its own rows back. On the server this
/// is dynamic batching; on the client it coalesces many callers' single-point calls into batched
/// requests. If a merged call fails with ModelError, its requests are retried one by one, so only
/// the request that caused the failure fails.
/// </summary>
public sealed class DynamicBatcher : IDisposable
{
    private readonly ConcurrentDictionary<LaneKey, Lane> _lanes = new();
    private long _modelCalls;
    private long _sizeFlushes;
    private long _timerFlushes;
    private long _idleFlushes;
    private long _mergedRequests;

    /// <summary>Creates a batcher.</summary>
    public DynamicBatcher(BatchingOptions? options = null)
        : this(options, inlineCompletions: false)
    {
    }

    /// <summary>
    /// A client's coalescer. With <paramref name="inlineCompletions"/> (the client's
    /// <see cref="Client.MaasClientOptions.InlineCompletions"/>) the callers of a merged call resume on
    /// the thread that completes it, one after another, before the next merged call leaves: the
    /// callers that await their next call in that code all join that merged call, and none waits for
    /// a pool thread.
    /// </summary>
    internal DynamicBatcher(BatchingOptions? options, bool inlineCompletions)
    {
        Options = options ?? new BatchingOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxBatchRows, 1);
        _resultOptions = inlineCompletions ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;
    }

    private readonly TaskCreationOptions _resultOptions;

    /// <summary>Settings.</summary>
    public BatchingOptions Options { get; }

    /// <summary>Calls passed on down the pipeline (merged batches and single requests).</summary>
    public long ModelCalls => Interlocked.Read(ref _modelCalls);

    /// <summary>Batches flushed because they reached <see cref="BatchingOptions.MaxBatchRows"/>.</summary>
    public long SizeFlushes => Interlocked.Read(ref _sizeFlushes);

    /// <summary>Batches flushed because <see cref="BatchingOptions.MaxQueueDelay"/> passed.</summary>
    public long TimerFlushes => Interlocked.Read(ref _timerFlushes);

    /// <summary>Batches sent because no batch of their kind was running (<see cref="BatchingOptions.FlushWhenIdle"/>).</summary>
    public long IdleFlushes => Interlocked.Read(ref _idleFlushes);

    /// <summary>Requests that went through the batcher.</summary>
    public long MergedRequests => Interlocked.Read(ref _mergedRequests);

    /// <summary>The middleware. <paramref name="resolve"/> finds a request's model where the pipeline has not yet.</summary>
    public Func<MaasDelegate, MaasDelegate> Middleware(Func<string?, IModel?>? resolve = null) => next => context =>
    {
        var request = context.Request;
        if (request.Operation is not (Operation.LogDensity or Operation.Evaluate) || request.X is not { } x
            || x.Rows == 0 || x.Rows > Options.MaxRowsPerRequest)
        {
            return next(context);
        }

        var model = context.Model ??= TryResolve(resolve, request.Model);
        if (model is null || (Options.Models.Count > 0 && !Options.Models.Contains(model.Info.Name) && !Options.Models.Contains(model.Info.Uuid.ToString("D"))))
        {
            return next(context);
        }

        var key = new LaneKey(model.Info.Uuid, request.Operation, x.Columns, XxHash128.HashToUInt128(MemoryMarshal.AsBytes(request.Theta.Span)), context.IsServer);
        var lane = _lanes.GetOrAdd(key, static (_, state) => new Lane(state.Batcher, state.Next), (Batcher: this, Next: next));
        return lane.EnqueueAsync(context);
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var lane in _lanes.Values)
        {
            lane.Dispose();
        }
    }

    private static IModel? TryResolve(Func<string?, IModel?>? resolve, string? name)
    {
        try
        {
            return resolve?.Invoke(name);
        }
        catch (MaasException)
        {
            return null;
        }
    }

    private readonly record struct LaneKey(Guid Model, Operation Operation, int Columns, UInt128 Theta, bool Server);

    // The item owns a copy of the caller's rows: a caller that gives up frees its request, and the
    // batch must not read freed memory.
    private sealed class Item
    {
        // _mergedCall's value once the caller gave up before its merged call started.
        private static readonly object GaveUpMark = new();

        private readonly CancellationTokenRegistration _onGiveUp;
        private object? _mergedCall;

        public Item(MaasCallContext context, TaskCreationOptions resultOptions)
        {
            Context = context;
            Result = new(resultOptions);
            X = DoubleMatrix.CopyOf(context.Request.X!.Span, context.Request.X.Rows, context.Request.X.Columns);

            // One registration does both jobs of a caller's token: the caller stops waiting at once,
            // and a merged call whose callers all gave up is cancelled. (Awaiting the result with
            // WaitAsync and registering again for the merged call cost two registrations and a
            // promise task per call.)
            if (context.CancellationToken.CanBeCanceled)
            {
                _onGiveUp = context.CancellationToken.UnsafeRegister(static s => ((Item)s!).GiveUp(), this);
            }
        }

        public MaasCallContext Context { get; }

        public DoubleMatrix X { get; }

        /// <summary>When the request joined the queue (<see cref="Stopwatch"/> ticks).</summary>
        public long Enqueued { get; } = Stopwatch.GetTimestamp();

        public TaskCompletionSource<DoubleMatrix> Result { get; }

        /// <summary>Counts this caller in <paramref name="call"/>; a caller that already gave up counts as gone at once.</summary>
        public void Join(MergedCall call)
        {
            if (Interlocked.Exchange(ref _mergedCall, call) == GaveUpMark)
            {
                call.CallerGaveUp();
            }
        }

        /// <summary>Ends the watch on the caller's token once the caller has its answer.</summary>
        public void StopWatching() => _onGiveUp.Dispose();

        // Exactly one of GiveUp and Join sees the other's write, so a merged call counts each caller that gave up once.
        private void GiveUp()
        {
            if (Result.TrySetCanceled(Context.CancellationToken) && Interlocked.Exchange(ref _mergedCall, GaveUpMark) is MergedCall call)
            {
                call.CallerGaveUp();
            }
        }
    }

    /// <summary>One merged call: cancelled when every caller in it has given up.</summary>
    private sealed class MergedCall(int callers) : IDisposable
    {
        private readonly CancellationTokenSource _allGaveUp = new();
        private readonly Lock _lock = new();
        private int _remaining = callers;
        private bool _disposed;

        public CancellationToken Token => _allGaveUp.Token;

        // The last caller may give up just as the merged call returns: the lock keeps it from cancelling a disposed source.
        public void CallerGaveUp()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                lock (_lock)
                {
                    if (!_disposed)
                    {
                        _allGaveUp.Cancel();
                    }
                }
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
                _allGaveUp.Dispose();
            }
        }
    }

    /// <summary>The queue of one (model, operation, theta, width).</summary>
    private sealed class Lane : IDisposable
    {
        // The longest due time a Timer takes (0xFFFFFFFE ms, about 49 days).
        private const double MaxTimerMilliseconds = uint.MaxValue - 1.0;

        private readonly DynamicBatcher _batcher;
        private readonly MaasDelegate _next;
        private readonly Lock _lock = new();
        private readonly List<Item> _pending = [];
        private readonly Timer _timer;
        private int _pendingRows;
        private int _running;
        private bool _armed;

        public Lane(DynamicBatcher batcher, MaasDelegate next)
        {
            _batcher = batcher;
            _next = next;
            _timer = new Timer(static s => ((Lane)s!).OnTimer(), this, Timeout.Infinite, Timeout.Infinite);
        }

        public async ValueTask EnqueueAsync(MaasCallContext context)
        {
            var item = new Item(context, _batcher._resultOptions);
            List<Item>? full = null;
            string reason = "size";
            lock (_lock)
            {
                _pending.Add(item);
                _pendingRows += context.Request.X!.Rows;
                if (_pendingRows >= _batcher.Options.MaxBatchRows)
                {
                    full = Take();
                }
                else if (_batcher.Options.FlushWhenIdle && _running == 0)
                {
                    full = Take();
                    reason = "idle";
                }
                else if (!_armed)
                {
                    _armed = true;
                    Arm(_batcher.Options.MaxQueueDelay);
                }
            }

            Start(full, reason);
            Interlocked.Increment(ref _batcher._mergedRequests);
            try
            {
                var rows = await item.Result.Task.ConfigureAwait(false);
                context.Response = new MaasResponse { Y = rows };
            }
            finally
            {
                item.StopWatching();
            }
        }

        public void Dispose() => _timer.Dispose();

        // The timer may have been armed for a request that left since (in a batch that filled up,
        // or that went out when the running one returned): it sends only once the oldest request
        // still waiting has waited MaxQueueDelay, and otherwise waits for that one. (Sending then
        // sent younger requests early, beside the running batch.)
        private void OnTimer()
        {
            List<Item>? batch = null;
            lock (_lock)
            {
                _armed = false;
                var delay = _batcher.Options.MaxQueueDelay;
                if (_pending.Count > 0 && Stopwatch.GetElapsedTime(_pending[0].Enqueued) >= delay)
                {
                    batch = Take();
                }

                if (_pending.Count > 0)
                {
                    _armed = true;
                    Arm(delay - Stopwatch.GetElapsedTime(_pending[0].Enqueued));
                }
            }

            Start(batch, "timer");
        }

        // .NET's timers count whole milliseconds and drop the rest: a due time below a millisecond
        // fires at once (on this machine about 10 µs later), so it is rounded up, never down, and
        // kept within what a timer takes. An infinite delay arms nothing: only size and idle flush.
        private void Arm(TimeSpan due)
        {
            if (_batcher.Options.MaxQueueDelay == Timeout.InfiniteTimeSpan)
            {
                return;
            }

            _timer.Change((long)Math.Clamp(Math.Ceiling(due.TotalMilliseconds), 1, MaxTimerMilliseconds), Timeout.Infinite);
        }

        // Counts a flush by its reason and runs its batch; called outside the lock.
        private void Start(List<Item>? batch, string reason)
        {
            if (batch is null)
            {
                return;
            }

            switch (reason)
            {
                case "size":
                    Interlocked.Increment(ref _batcher._sizeFlushes);
                    break;
                case "timer":
                    Interlocked.Increment(ref _batcher._timerFlushes);
                    break;
                default:
                    Interlocked.Increment(ref _batcher._idleFlushes);
                    break;
            }

            _ = RunAsync(batch, reason);
        }

        // Takes the oldest requests that fit in one batch (at least one) and counts the batch as
        // running until RunAsync ends. Caller holds the lock.
        private List<Item> Take()
        {
            var batch = new List<Item>();
            int rows = 0;
            while (_pending.Count > batch.Count)
            {
                int next = _pending[batch.Count].X.Rows;
                if (batch.Count > 0 && rows + next > _batcher.Options.MaxBatchRows)
                {
                    break;
                }

                batch.Add(_pending[batch.Count]);
                rows += next;
            }

            _pending.RemoveRange(0, batch.Count);
            _pendingRows -= rows;
            _running++;
            return batch;
        }

        private async Task RunAsync(List<Item> batch, string reason)
        {
            try
            {
                await RunBatchAsync(batch, reason).ConfigureAwait(false);
            }
            finally
            {
                List<Item>? next = null;
                lock (_lock)
                {
                    _running--;
                    if (_batcher.Options.FlushWhenIdle && _running == 0 && _pending.Count > 0)
                    {
                        // What gathered while the batch ran goes out now, not when the timer fires.
                        next = Take();
                    }
                }

                Start(next, "idle");
            }
        }

        private async Task RunBatchAsync(List<Item> batch, string reason)
        {
            batch.RemoveAll(item =>
            {
                if (item.Context.CancellationToken.IsCancellationRequested)
                {
                    item.Result.TrySetCanceled(item.Context.CancellationToken);
                    return true;
                }

                return false;
            });
            if (batch.Count == 0)
            {
                return;
            }

            if (batch.Count == 1)
            {
                await RunAloneAsync(batch[0]).ConfigureAwait(false);
                batch[0].X.Dispose();
                return;
            }

            try
            {
                await RunMergedAsync(batch, reason).ConfigureAwait(false);
            }
            finally
            {
                foreach (var item in batch)
                {
                    item.X.Dispose();
                }
            }
        }

        private async Task RunMergedAsync(List<Item> batch, string reason)
        {
            var first = batch[0].Context;
            int columns = batch[0].X.Columns;
            int totalRows = batch.Sum(i => i.X.Rows);
            using var merged = DoubleMatrix.Rent(totalRows, columns);
            int offset = 0;
            foreach (var item in batch)
            {
                var x = item.X;
                x.Span.CopyTo(merged.Span[(offset * columns)..]);
                offset += x.Rows;
            }

            var request = new MaasRequest
            {
                Operation = first.Request.Operation,
                Model = first.Request.Model,
                X = merged,
                Theta = first.Request.Theta,
                Cache = first.Request.Cache,
                TraceParent = first.Request.TraceParent,
            };
            using var call = new MergedCall(batch.Count);
            foreach (var item in batch)
            {
                item.Join(call);
            }

            var context = new MaasCallContext(request, first.IsServer, call.Token)
            {
                Model = first.Model,
                Timeout = batch.Select(i => i.Context.Timeout).Where(t => t is not null).Min(),
                CallerIdentity = first.CallerIdentity,
                Credentials = first.Credentials,
            };
            var tags = new TagList { { "maas.side", MaasTelemetry.Side(first) }, { "maas.model", first.Model?.Info.Name }, { "maas.operation", MaasTelemetry.OperationName(request.Operation) }, { "maas.flush", reason } };
            MaasTelemetry.BatchRows.Record(totalRows, tags);
            MaasTelemetry.BatchCalls.Record(batch.Count, tags);
            try
            {
                Interlocked.Increment(ref _batcher._modelCalls);
                await _next(context).ConfigureAwait(false);
                using var y = context.Response?.Y ?? throw new MaasException(MaasErrorCode.Internal, "A batched call returned no result.");
                if (y.Rows != totalRows)
                {
                    throw new MaasException(MaasErrorCode.ModelError, $"A batched call of {totalRows} rows returned {y.Rows}.");
                }

                offset = 0;
                foreach (var item in batch)
                {
                    int rows = item.X.Rows;
                    var slice = y.SliceRows(offset, rows);
                    if (!item.Result.TrySetResult(slice))
                    {
                        // The caller gave up; its slice goes back to the pool.
                        slice.Dispose();
                    }

                    offset += rows;
                }
            }
            catch (MaasException ex) when (ex.Code is MaasErrorCode.ModelError or MaasErrorCode.InvalidArgument)
            {
                // One request may have poisoned the batch: run them one by one so only it fails.
                await Task.WhenAll(batch.Select(RunAloneAsync)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                foreach (var item in batch)
                {
                    item.Result.TrySetException(ex);
                }
            }
        }

        private async Task RunAloneAsync(Item item)
        {
            var original = item.Context;
            var request = new MaasRequest { Operation = original.Request.Operation, Model = original.Request.Model, X = item.X, Theta = original.Request.Theta, Cache = original.Request.Cache, TraceParent = original.Request.TraceParent };
            var context = new MaasCallContext(request, original.IsServer, original.CancellationToken)
            {
                Model = original.Model,
                Timeout = original.Timeout,
                CallerIdentity = original.CallerIdentity,
                Credentials = original.Credentials,
            };
            try
            {
                Interlocked.Increment(ref _batcher._modelCalls);
                await _next(context).ConfigureAwait(false);
                item.Result.TrySetResult(context.Response?.Y ?? throw new MaasException(MaasErrorCode.Internal, "A call returned no result."));
            }
            catch (OperationCanceledException) when (original.CancellationToken.IsCancellationRequested)
            {
                item.Result.TrySetCanceled(original.CancellationToken);
            }
            catch (Exception ex)
            {
                item.Result.TrySetException(ex);
            }
        }
    }
}
