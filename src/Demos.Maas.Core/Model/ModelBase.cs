using System.Runtime.CompilerServices;

namespace Demos.Maas;

/// <summary>
/// A base class for models written as classes: override what the model has; everything else
/// answers Unsupported. Prefer <see cref="ModelBuilder"/> for models made of a few functions.
/// </summary>
public abstract class ModelBase : IModel
{
    /// <inheritdoc/>
    public abstract ModelInfo Info { get; }

    /// <inheritdoc/>
    public virtual ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        throw MaasException.Unsupported(Info.Name, "Evaluate");

    /// <inheritdoc/>
    public virtual ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        throw MaasException.Unsupported(Info.Name, "LogDensity");

    /// <inheritdoc/>
    public virtual IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default) =>
        throw MaasException.Unsupported(Info.Name, "Sample");

    /// <inheritdoc/>
    public virtual ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        throw MaasException.Unsupported(Info.Name, $"Gradient({kind})");

    /// <inheritdoc/>
    public virtual ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<DatasetInfo>>([]);

    /// <inheritdoc/>
    public virtual IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, CancellationToken cancellationToken = default) =>
        throw new MaasException(MaasErrorCode.NotFound, $"Model '{Info.Name}' has no dataset '{request?.Name}'.");

    /// <inheritdoc/>
    public virtual ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new ParameterSet(1, Info.Parameters.Select(p => new KeyValuePair<string, double[]>(p.Name, [.. p.Default]))));

    /// <inheritdoc/>
    public virtual ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default) =>
        throw MaasException.Unsupported(Info.Name, "UpdateParameters");
}

/// <summary>Conveniences on <see cref="IModel"/> for single points and whole streams.</summary>
public static class ModelExtensions
{
    /// <summary>log p(x | theta) of one point.</summary>
    public static async ValueTask<double> LogDensityAsync(this IModel model, double[] point, double[]? theta = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var x = DoubleMatrix.FromPoint(point);
        using var y = await model.LogDensityAsync(x, theta, cancellationToken).ConfigureAwait(false);
        return y.Span[0];
    }

    /// <summary>F(x) of one point.</summary>
    public static async ValueTask<double[]> EvaluateAsync(this IModel model, double[] point, double[]? theta = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var x = DoubleMatrix.FromPoint(point);
        using var y = await model.EvaluateAsync(x, theta, cancellationToken).ConfigureAwait(false);
        return y.ToArray();
    }

    /// <summary>All draws of a Sample call gathered into one count × d matrix.</summary>
    public static async ValueTask<DoubleMatrix> SampleMatrixAsync(this IModel model, long count, ulong? seed = null, double[]? theta = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var request = new SampleRequest { Count = count, Seed = seed, Theta = theta };
        return await GatherAsync(model.SampleAsync(request, cancellationToken), (int)count, model.Info.InputDimension, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A whole dataset (or slice) gathered into one matrix.</summary>
    public static async ValueTask<DoubleMatrix> ReadDatasetMatrixAsync(this IModel model, string name, long offset = 0, long count = -1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var datasets = await model.ListDatasetsAsync(cancellationToken).ConfigureAwait(false);
        var info = datasets.FirstOrDefault(d => d.Name == name) ?? throw new MaasException(MaasErrorCode.NotFound, $"Model '{model.Info.Name}' has no dataset '{name}'.");
        long rows = count < 0 ? info.Rows - offset : count;
        return await GatherAsync(model.ReadDatasetAsync(new DataRequest { Name = name, Offset = offset, Count = count }, cancellationToken), (int)rows, info.Columns, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<DoubleMatrix> GatherAsync(IAsyncEnumerable<DoubleMatrix> chunks, int rows, int columns, CancellationToken cancellationToken)
    {
        var result = DoubleMatrix.Rent(rows, columns);
        int filled = 0;
        try
        {
            await foreach (var chunk in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                using (chunk)
                {
                    if (chunk.Columns != columns || filled + chunk.Rows > rows)
                    {
                        throw new MaasException(MaasErrorCode.Internal, $"Stream chunk {chunk.Rows}x{chunk.Columns} does not fit the expected {rows}x{columns} result.");
                    }

                    chunk.Span.CopyTo(result.Span[(filled * columns)..]);
                    filled += chunk.Rows;
                }
            }

            if (filled != rows)
            {
                throw new MaasException(MaasErrorCode.Internal, $"Stream ended after {filled} of {rows} rows.");
            }

            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }
}
