using System.Runtime.CompilerServices;
using Demos.Maas.Client;

namespace Demos.Maas.Transports.Mpi;

/// <summary>
/// One model hosted on several worker ranks, seen as one <see cref="IModel"/>. Each call goes to the
/// least busy worker; a batch of at least <see cref="SplitRows"/> rows is split into one contiguous
/// slice per worker, the slices run at once, and the results come back in row order. Parameter
/// updates go to every worker (with one update id), so all ranks compute with the same parameters.
/// </summary>
public sealed class DistributedModel : IModel
{
    private readonly RemoteModel[] _workers;
    private readonly int[] _busy;

    internal DistributedModel(IReadOnlyList<RemoteModel> workers)
    {
        _workers = [.. workers];
        _busy = new int[_workers.Length];
        Info = _workers[0].Info;
    }

    /// <inheritdoc/>
    public ModelInfo Info { get; }

    /// <summary>Number of worker ranks.</summary>
    public int Workers => _workers.Length;

    /// <summary>Batches with at least this many rows are split across the workers. Default 256.</summary>
    public int SplitRows { get; set; } = 256;

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        SpreadAsync(x, null, (m, xs, _) => m.EvaluateAsync(xs, theta, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        SpreadAsync(x, null, (m, xs, _) => m.LogDensityAsync(xs, theta, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        SpreadAsync(x, vector, (m, xs, vs) => m.GradientAsync(kind, xs, vs, theta, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public async IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // One seeded stream comes from one generator: a sample is not split.
        int worker = Acquire();
        try
        {
            await foreach (var chunk in _workers[worker].SampleAsync(request, cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _busy[worker]);
        }
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default) =>
        _workers[0].ListDatasetsAsync(cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, CancellationToken cancellationToken = default) =>
        _workers[0].ReadDatasetAsync(request, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default) =>
        _workers[0].GetParametersAsync(cancellationToken);

    /// <inheritdoc/>
    public async ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var same = new ParameterUpdate { Values = update.Values, UpdateId = update.UpdateId ?? Guid.NewGuid().ToString("N") };
        ParameterSet? result = null;
        foreach (var worker in _workers)
        {
            result = await worker.UpdateParametersAsync(same, cancellationToken).ConfigureAwait(false);
        }

        return result!;
    }

    private async ValueTask<DoubleMatrix> SpreadAsync(DoubleMatrix x, DoubleMatrix? vector, Func<IModel, DoubleMatrix, DoubleMatrix?, ValueTask<DoubleMatrix>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (_workers.Length == 1 || x.Rows < SplitRows)
        {
            int worker = Acquire();
            try
            {
                return await call(_workers[worker], x, vector).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _busy[worker]);
            }
        }

        int parts = _workers.Length;
        var slices = new (int Start, int Rows)[parts];
        for (int i = 0, start = 0; i < parts; i++)
        {
            int rows = (x.Rows / parts) + (i < x.Rows % parts ? 1 : 0);
            slices[i] = (start, rows);
            start += rows;
        }

        var results = await Task.WhenAll(slices.Select(async (slice, i) =>
        {
            using var xs = x.SliceRows(slice.Start, slice.Rows);
            using var vs = vector?.SliceRows(slice.Start, slice.Rows);
            Interlocked.Increment(ref _busy[i]);
            try
            {
                return await call(_workers[i], xs, vs).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _busy[i]);
            }
        })).ConfigureAwait(false);
        try
        {
            var merged = DoubleMatrix.Rent(x.Rows, results[0].Columns);
            int offset = 0;
            foreach (var part in results)
            {
                part.Span.CopyTo(merged.Span[offset..]);
                offset += part.Length;
            }

            return merged;
        }
        finally
        {
            foreach (var part in results)
            {
                part.Dispose();
            }
        }
    }

    private int Acquire()
    {
        int best = 0;
        for (int i = 1; i < _busy.Length; i++)
        {
            if (Volatile.Read(ref _busy[i]) < Volatile.Read(ref _busy[best]))
            {
                best = i;
            }
        }

        Interlocked.Increment(ref _busy[best]);
        return best;
    }
}
