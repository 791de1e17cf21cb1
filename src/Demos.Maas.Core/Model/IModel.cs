namespace Demos.Maas;

/// <summary>
/// The model contract, used on both sides: a server hosts <see cref="IModel"/>s and a client hands
/// out <see cref="IModel"/> proxies, so code written against it cannot tell local from remote.
/// </summary>
/// <remarks>
/// <para>Batch first: x is always an n × d matrix, one point per row; a single point is n = 1.</para>
/// <para>theta: every numerical call may carry parameter values for that call alone (all
/// parameters concatenated in <see cref="ModelInfo.Parameters"/> order). Empty means "use the
/// model's current server-side parameters".</para>
/// <para>Ownership: input matrices stay the caller's and are not kept by the model; returned
/// matrices belong to the caller (dispose them to recycle pooled memory).</para>
/// <para>Errors: <see cref="MaasException"/> with a code from <see cref="MaasErrorCode"/>; a
/// capability the model lacks gives <see cref="MaasErrorCode.Unsupported"/>.</para>
/// </remarks>
public interface IModel
{
    /// <summary>Identity, dimensions, parameters and capabilities.</summary>
    ModelInfo Info { get; }

    /// <summary>y = F(theta; x) row by row: n × InputDimension in, n × OutputDimension out.</summary>
    ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default);

    /// <summary>log p(x_i | theta) for each row: n × InputDimension in, n × 1 out.</summary>
    ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default);

    /// <summary>Draws from p(. | theta), streamed in chunks of rows.</summary>
    IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default);

    /// <summary>A derivative (see <see cref="GradientKind"/> for shapes). <paramref name="vector"/> is needed for VJP and JVP only.</summary>
    ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default);

    /// <summary>The model's datasets.</summary>
    ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default);

    /// <summary>A slice of a dataset, streamed in chunks of rows.</summary>
    IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, CancellationToken cancellationToken = default);

    /// <summary>The current parameter values and their version.</summary>
    ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default);

    /// <summary>Updates some parameters; returns the new values with a higher version.</summary>
    ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default);
}
