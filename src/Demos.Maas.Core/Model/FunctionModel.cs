using System.Runtime.CompilerServices;

namespace Demos.Maas;

/// <summary>The model <see cref="ModelBuilder.Build"/> makes: registered functions behind <see cref="IModel"/>.</summary>
internal sealed class FunctionModel : IModel, IVersionedParameters
{
    private const int TargetChunkValues = 64 * 1024;
    private const int RememberedUpdateIds = 1024;

    private readonly BatchFunction? _evaluate;
    private readonly BatchFunction? _logDensity;
    private readonly BatchFunction? _gradientX;
    private readonly BatchFunction? _gradientTheta;
    private readonly BatchFunction? _vjp;
    private readonly BatchFunction? _jvp;
    private readonly SamplerFunction? _sampler;
    private readonly Dictionary<string, (DatasetInfo Info, DoubleMatrix Data)> _datasets;
    private readonly SemaphoreSlim? _serial;
    private readonly bool _parametersWritable;
    private readonly Lock _parameterLock = new();
    private readonly Queue<string> _updateIdOrder = new();
    private readonly HashSet<string> _updateIds = new(StringComparer.Ordinal);

    // Copy-on-write: a call reads one consistent snapshot without taking the lock.
    private volatile ThetaSnapshot _theta;

    public FunctionModel(ModelInfo info, ModelBuilder builder)
    {
        Info = info;
        _evaluate = builder.Evaluate;
        _logDensity = builder.LogDensity;
        _gradientX = builder.GradientX;
        _gradientTheta = builder.GradientTheta;
        _vjp = builder.Vjp;
        _jvp = builder.Jvp;
        _sampler = builder.Sampler;
        _datasets = builder.Datasets.ToDictionary(d => d.Info.Name, StringComparer.Ordinal);
        _serial = builder.IsSerial ? new SemaphoreSlim(1, 1) : null;
        _parametersWritable = builder.ParametersWritable;
        var defaults = new List<double>();
        foreach (var p in info.Parameters)
        {
            defaults.AddRange(p.Default);
        }

        _theta = new ThetaSnapshot(1, [.. defaults]);
    }

    public ModelInfo Info { get; }

    public long ParameterVersion => _theta.Version;

    public ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        ModelArguments.CheckColumns(Info, "Evaluate", "x", x, Info.InputDimension);
        return Run(_evaluate, "Evaluate", x, null, Info.OutputDimension, theta, cancellationToken);
    }

    public ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        ModelArguments.CheckColumns(Info, "LogDensity", "x", x, Info.InputDimension);
        return Run(_logDensity, "LogDensity", x, null, 1, theta, cancellationToken);
    }

    public ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        ModelArguments.CheckGradient(Info, kind, x, vector);
        var function = kind switch
        {
            GradientKind.LogDensityWrtX => _gradientX,
            GradientKind.LogDensityWrtTheta => _gradientTheta,
            GradientKind.EvaluateVjp => _vjp,
            GradientKind.EvaluateJvp => _jvp,
            _ => null,
        };
        return Run(function, $"Gradient({kind})", x, vector, ModelArguments.GradientColumns(Info, kind), theta, cancellationToken);
    }

    public async IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sampler = _sampler ?? throw MaasException.Unsupported(Info.Name, "Sample");
        if (request.Count < 0)
        {
            throw MaasException.InvalidArgument($"{Info.Name}.Sample: count {request.Count} is negative.");
        }

        if (request.ChunkRows < 0)
        {
            throw MaasException.InvalidArgument($"{Info.Name}.Sample: chunk size {request.ChunkRows} is negative.");
        }

        var theta = ResolveTheta(request.Theta);
        ulong seed = request.Seed ?? FreshSeed.Next();
        var random = new SeededRandom(seed);
        int columns = Info.InputDimension;
        int chunk = request.ChunkRows > 0 ? request.ChunkRows : Math.Max(1, TargetChunkValues / Math.Max(1, columns));
        for (long done = 0; done < request.Count;)
        {
            int rows = (int)Math.Min(chunk, request.Count - done);
            cancellationToken.ThrowIfCancellationRequested();
            var block = DoubleMatrix.Rent(rows, columns);
            await EnterAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                sampler(new SamplerArgs(random, rows, columns, theta.Span, cancellationToken), block.Span);
            }
            catch (Exception ex)
            {
                block.Dispose();
                throw Translate(ex, "Sample", cancellationToken);
            }
            finally
            {
                _serial?.Release();
            }

            done += rows;
            yield return block;
        }
    }

    public ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<DatasetInfo>>([.. _datasets.Values.Select(d => d.Info)]);

    public async IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_datasets.TryGetValue(request.Name, out var dataset))
        {
            throw new MaasException(MaasErrorCode.NotFound, $"Model '{Info.Name}' has no dataset '{request.Name}'.");
        }

        var (offset, count) = DatasetSlice.Resolve(Info.Name, dataset.Info, request);
        int chunk = request.ChunkRows > 0 ? request.ChunkRows : Math.Max(1, TargetChunkValues / Math.Max(1, dataset.Info.Columns));
        for (long done = 0; done < count;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int rows = (int)Math.Min(chunk, count - done);
            yield return dataset.Data.SliceRows((int)(offset + done), rows);
            done += rows;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Snapshot(_theta));

    public ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (Info.Parameters.Count == 0 || !_parametersWritable)
        {
            throw MaasException.Unsupported(Info.Name, "UpdateParameters");
        }

        lock (_parameterLock)
        {
            if (update.UpdateId is { } id && _updateIds.Contains(id))
            {
                return ValueTask.FromResult(Snapshot(_theta));
            }

            var current = _theta;
            double[] next = (double[])current.Values.Clone();
            foreach (var (name, values) in update.Values)
            {
                int offset = 0;
                ParameterInfo? found = null;
                foreach (var p in Info.Parameters)
                {
                    if (p.Name == name)
                    {
                        found = p;
                        break;
                    }

                    offset += p.Size;
                }

                if (found is null)
                {
                    throw MaasException.InvalidArgument($"{Info.Name}: no parameter named '{name}'.");
                }

                ParameterValidation.Check(Info.Name, found, values);
                values.CopyTo(next, offset);
            }

            _theta = new ThetaSnapshot(current.Version + 1, next);
            if (update.UpdateId is { } newId)
            {
                _updateIds.Add(newId);
                _updateIdOrder.Enqueue(newId);
                if (_updateIdOrder.Count > RememberedUpdateIds)
                {
                    _updateIds.Remove(_updateIdOrder.Dequeue());
                }
            }

            return ValueTask.FromResult(Snapshot(_theta));
        }
    }

    private ValueTask<DoubleMatrix> Run(BatchFunction? function, string operation, DoubleMatrix x, DoubleMatrix? vector, int resultColumns, ReadOnlyMemory<double> theta, CancellationToken cancellationToken)
    {
        if (function is null)
        {
            throw MaasException.Unsupported(Info.Name, operation);
        }

        var resolved = ResolveTheta(theta);
        cancellationToken.ThrowIfCancellationRequested();
        if (_serial is not null)
        {
            return RunSerialAsync(function, operation, x, vector, resultColumns, resolved, cancellationToken);
        }

        return ValueTask.FromResult(Invoke(function, operation, x, vector, resultColumns, resolved, cancellationToken));
    }

    private async ValueTask<DoubleMatrix> RunSerialAsync(BatchFunction function, string operation, DoubleMatrix x, DoubleMatrix? vector, int resultColumns, ReadOnlyMemory<double> theta, CancellationToken cancellationToken)
    {
        await _serial!.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Invoke(function, operation, x, vector, resultColumns, theta, cancellationToken);
        }
        finally
        {
            _serial.Release();
        }
    }

    private DoubleMatrix Invoke(BatchFunction function, string operation, DoubleMatrix x, DoubleMatrix? vector, int resultColumns, ReadOnlyMemory<double> theta, CancellationToken cancellationToken)
    {
        var result = DoubleMatrix.Rent(x.Rows, resultColumns);
        try
        {
            function(new ModelArgs(x.Span, x.Rows, x.Columns, theta.Span, vector is null ? default : vector.Span, cancellationToken), result.Span);
            return result;
        }
        catch (Exception ex)
        {
            result.Dispose();
            throw Translate(ex, operation, cancellationToken);
        }
    }

    private ValueTask EnterAsync(CancellationToken cancellationToken) =>
        _serial is null ? ValueTask.CompletedTask : new ValueTask(_serial.WaitAsync(cancellationToken));

    private Exception Translate(Exception ex, string operation, CancellationToken cancellationToken) => ex switch
    {
        MaasException => ex,
        OperationCanceledException when cancellationToken.IsCancellationRequested => ex,
        _ => new MaasException(MaasErrorCode.ModelError, $"{Info.Name}.{operation} failed: {ex.Message}", ex),
    };

    private ReadOnlyMemory<double> ResolveTheta(ReadOnlyMemory<double> theta)
    {
        if (theta.IsEmpty)
        {
            return _theta.Values;
        }

        ModelArguments.CheckTheta(Info, theta.Span);
        return theta;
    }

    private ParameterSet Snapshot(ThetaSnapshot snapshot)
    {
        var values = new List<KeyValuePair<string, double[]>>(Info.Parameters.Count);
        int offset = 0;
        foreach (var p in Info.Parameters)
        {
            values.Add(new(p.Name, snapshot.Values.AsSpan(offset, p.Size).ToArray()));
            offset += p.Size;
        }

        return new ParameterSet(snapshot.Version, values);
    }

    private sealed record ThetaSnapshot(long Version, double[] Values);
}
