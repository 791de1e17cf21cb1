using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;

namespace Demos.Maas.Client;

/// <summary>
/// A model on a server, seen through <see cref="IModel"/>. Every method is one round trip (streams
/// are one request answered by many chunks). Errors arrive as <see cref="MaasException"/> with the
/// server's code and message.
/// </summary>
public sealed class RemoteModel : IModel, IVersionedParameters
{
    private readonly MaasClient _client;
    private readonly CallOptions _options;
    private readonly string _address;

    internal RemoteModel(MaasClient client, ModelInfo info, CallOptions options)
    {
        _client = client;
        Info = info;
        _options = options;
        _address = info.Uuid != Guid.Empty ? info.Uuid.ToString("D") : info.Name;
    }

    /// <inheritdoc/>
    public ModelInfo Info { get; }

    /// <summary>The last parameter version the client has seen for this model (from updates and server notifications).</summary>
    public long ParameterVersion => _client.KnownParameterVersion(Info.Uuid);

    /// <summary>The connection this proxy uses.</summary>
    public MaasClient Client => _client;

    /// <summary>Settings of this proxy's calls.</summary>
    public CallOptions Options => _options;

    /// <summary>The same model with other call settings (e.g. a deadline).</summary>
    public RemoteModel WithOptions(CallOptions options) => new(_client, Info, options ?? throw new ArgumentNullException(nameof(options)));

    /// <summary>The same model with a deadline on every call.</summary>
    public RemoteModel WithTimeout(TimeSpan timeout) => WithOptions(_options with { Timeout = timeout });

    // The per-call methods reuse their state machines (a fitter makes millions of calls): a
    // ValueTask they return is awaited once, as any ValueTask (or turned into a Task with AsTask).

    /// <inheritdoc/>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        var context = await RunAsync(new MaasRequest { Operation = Operation.Evaluate, X = x, Theta = theta }, cancellationToken).ConfigureAwait(false);
        return Matrix(context);
    }

    /// <inheritdoc/>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        var context = await RunAsync(new MaasRequest { Operation = Operation.LogDensity, X = x, Theta = theta }, cancellationToken).ConfigureAwait(false);
        return Matrix(context);
    }

    /// <inheritdoc/>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        var context = await RunAsync(new MaasRequest { Operation = Operation.Gradient, GradientKind = kind, X = x, Vector = vector, Theta = theta }, cancellationToken).ConfigureAwait(false);
        return Matrix(context);
    }

    /// <inheritdoc/>
    public IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Count < 0 || request.ChunkRows < 0)
        {
            throw MaasException.InvalidArgument($"{Info.Name}.Sample: count {request.Count} and chunk size {request.ChunkRows} must not be negative.");
        }

        return StreamAsync(new MaasRequest { Operation = Operation.Sample, Count = request.Count, Seed = request.Seed, ChunkRows = request.ChunkRows, Theta = request.Theta }, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default)
    {
        var context = await RunAsync(new MaasRequest { Operation = Operation.ListData }, cancellationToken).ConfigureAwait(false);
        return context.Response?.Datasets ?? throw Missing("datasets");
    }

    /// <inheritdoc/>
    public IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Offset < 0 || request.ChunkRows < 0)
        {
            throw MaasException.InvalidArgument($"{Info.Name}.ReadData: offset {request.Offset} and chunk size {request.ChunkRows} must not be negative.");
        }

        return StreamAsync(new MaasRequest { Operation = Operation.ReadData, Dataset = request.Name, Offset = request.Offset, Count = request.Count, ChunkRows = request.ChunkRows }, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default)
    {
        var context = await RunAsync(new MaasRequest { Operation = Operation.GetParameters }, cancellationToken).ConfigureAwait(false);
        return context.Response?.Parameters ?? throw Missing("parameters");
    }

    /// <inheritdoc/>
    public async ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var context = await RunAsync(new MaasRequest { Operation = Operation.UpdateParameters, Update = update }, cancellationToken).ConfigureAwait(false);
        return context.Response?.Parameters ?? throw Missing("parameters");
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Info.Name} at {_client.Uri}";

    private ValueTask<MaasCallContext> RunAsync(MaasRequest request, CancellationToken cancellationToken)
    {
        request.Model = _address;
        request.Cache = _options.Cache;
        return _client.InvokeAsync(request, this, _options.Timeout, cancellationToken);
    }

    private async IAsyncEnumerable<DoubleMatrix> StreamAsync(MaasRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var context = await RunAsync(request, cancellationToken).ConfigureAwait(false);
        var stream = context.Stream ?? throw Missing("stream");
        await foreach (var chunk in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return chunk;
        }
    }

    private static DoubleMatrix Matrix(MaasCallContext context) => context.Response?.Y ?? throw Missing("y");

    private static MaasException Missing(string field) =>
        new(MaasErrorCode.ProtocolError, $"The server's response has no '{field}'.");
}
