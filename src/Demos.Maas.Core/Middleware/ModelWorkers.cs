using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Demos.Maas.Middleware;

/// <summary>
/// Runs a model that is not thread-safe on N workers: N instances made by a factory, each used by
/// one call at a time. Calls beyond N wait for a free instance. A parameter update waits for all
/// instances and applies to each, so they never disagree.
/// </summary>
public sealed class ModelWorkers : IModel, IVersionedParameters, IAsyncDisposable
{
    private readonly IModel[] _instances;
    private readonly Channel<IModel> _free;
    private readonly SemaphoreSlim _updateLock = new(1, 1);

    private ModelWorkers(IModel[] instances)
    {
        _instances = instances;
        _free = Channel.CreateBounded<IModel>(instances.Length);
        foreach (var instance in instances)
        {
            _free.Writer.TryWrite(instance);
        }

        Info = instances[0].Info;
    }

    /// <inheritdoc/>
    public ModelInfo Info { get; }

    /// <summary>Number of instances.</summary>
    public int Workers => _instances.Length;

    /// <inheritdoc/>
    public long ParameterVersion => _instances[0] is IVersionedParameters v ? v.ParameterVersion : Interlocked.Read(ref _updates);

    private long _updates;

    /// <summary>Makes <paramref name="workers"/> instances with <paramref name="factory"/>; they must describe the same model.</summary>
    public static ModelWorkers Create(Func<IModel> factory, int workers)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        var instances = new IModel[workers];
        for (int i = 0; i < workers; i++)
        {
            instances[i] = factory();
            if (i > 0 && (instances[i].Info.Uuid != instances[0].Info.Uuid || instances[i].Info.Name != instances[0].Info.Name))
            {
                throw new ArgumentException("The factory made instances of different models.", nameof(factory));
            }
        }

        return new ModelWorkers(instances);
    }

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        WithInstanceAsync(m => m.EvaluateAsync(x, theta, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        WithInstanceAsync(m => m.LogDensityAsync(x, theta, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        WithInstanceAsync(m => m.GradientAsync(kind, x, vector, theta, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default) =>
        StreamWithInstanceAsync(m => m.SampleAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default) =>
        _instances[0].ListDatasetsAsync(cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, CancellationToken cancellationToken = default) =>
        StreamWithInstanceAsync(m => m.ReadDatasetAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default) =>
        _instances[0].GetParametersAsync(cancellationToken);

    /// <inheritdoc/>
    public async ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default)
    {
        await _updateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var taken = new List<IModel>(_instances.Length);
        try
        {
            // Take every instance, so no call runs while they change.
            while (taken.Count < _instances.Length)
            {
                taken.Add(await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false));
            }

            ParameterSet? result = null;
            try
            {
                foreach (var instance in _instances)
                {
                    result = await instance.UpdateParametersAsync(update, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                // Counted even on failure: some instances may have changed, so cached results are stale.
                Interlocked.Increment(ref _updates);
            }

            return result!;
        }
        finally
        {
            foreach (var instance in taken)
            {
                _free.Writer.TryWrite(instance);
            }

            _updateLock.Release();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            switch (instance)
            {
                case IAsyncDisposable asyncDisposable: await asyncDisposable.DisposeAsync().ConfigureAwait(false); break;
                case IDisposable disposable: disposable.Dispose(); break;
            }
        }

        _updateLock.Dispose();
    }

    private async ValueTask<DoubleMatrix> WithInstanceAsync(Func<IModel, ValueTask<DoubleMatrix>> call, CancellationToken cancellationToken)
    {
        var instance = await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await call(instance).ConfigureAwait(false);
        }
        finally
        {
            _free.Writer.TryWrite(instance);
        }
    }

    private async IAsyncEnumerable<DoubleMatrix> StreamWithInstanceAsync(Func<IModel, IAsyncEnumerable<DoubleMatrix>> call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var instance = await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await foreach (var chunk in call(instance).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }
        }
        finally
        {
            _free.Writer.TryWrite(instance);
        }
    }
}
