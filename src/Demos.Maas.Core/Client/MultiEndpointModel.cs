using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Demos.Maas.Client;

/// <summary>
/// One model served at several addresses, used as one <see cref="IModel"/>. Each call goes to the
/// healthy endpoint with the fewest calls outstanding (least outstanding requests). A call that
/// fails with <see cref="MaasErrorCode.Unavailable"/> (server gone, stopping, connection cut) is
/// retried on another endpoint when it is idempotent — every operation but UpdateParameters, and
/// streams until their first chunk — and the failed endpoint rests for a growing backoff before it
/// is tried again. Failovers are counted in <see cref="Failovers"/> and in the
/// <c>maas.client.failovers</c> counter of the "Demos.Maas" meter.
/// </summary>
/// <example>
/// <code>
/// await using var model = await MultiEndpointModel.ConnectAsync("gaussian1d",
///     [new Uri("tcp://10.0.0.7:5000"), new Uri("tcp://10.0.0.8:5000")], options);
/// double lp = await model.LogDensityAsync([0.5]);
/// </code>
/// </example>
public sealed class MultiEndpointModel : IModel, IAsyncDisposable
{
    private static readonly Counter<long> FailoverCounter =
        Middleware.MaasTelemetry.Meter.CreateCounter<long>("maas.client.failovers", "{call}", "Calls moved to another endpoint after one was unavailable.");

    private readonly ModelEndpoint[] _endpoints;
    private long _failovers;

    private MultiEndpointModel(ModelEndpoint[] endpoints, ModelInfo info)
    {
        _endpoints = endpoints;
        Info = info;
    }

    /// <summary>Connects to <paramref name="model"/> at every endpoint that answers now (at least one must); the others are tried again later.</summary>
    /// <exception cref="MaasException">Unavailable when no endpoint answers; NotFound when the model is not there.</exception>
    public static async Task<MultiEndpointModel> ConnectAsync(string model, IEnumerable<Uri> endpoints, MaasClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new MaasClientOptions();
        var all = endpoints.Select(u => new ModelEndpoint(u, model, options)).ToArray();
        if (all.Length == 0)
        {
            throw MaasException.InvalidArgument("A multi-endpoint model needs at least one endpoint.");
        }

        MaasException? last = null;
        ModelInfo? info = null;
        foreach (var endpoint in all)
        {
            try
            {
                info ??= (await endpoint.ModelAsync(cancellationToken).ConfigureAwait(false)).Info;
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.Unavailable)
            {
                endpoint.Failed();
                last = ex;
            }
        }

        return info is not null ? new MultiEndpointModel(all, info) : throw last!;
    }

    /// <inheritdoc/>
    public ModelInfo Info { get; }

    /// <summary>The addresses, in the order given.</summary>
    public IReadOnlyList<Uri> Endpoints => [.. _endpoints.Select(e => e.Uri)];

    /// <summary>Endpoints not resting after a failure.</summary>
    public int HealthyEndpoints => _endpoints.Count(e => e.IsHealthy);

    /// <summary>Calls moved to another endpoint after one was unavailable.</summary>
    public long Failovers => Interlocked.Read(ref _failovers);

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        CallAsync(m => m.EvaluateAsync(x, theta, cancellationToken), idempotent: true, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        CallAsync(m => m.LogDensityAsync(x, theta, cancellationToken), idempotent: true, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) =>
        CallAsync(m => m.GradientAsync(kind, x, vector, theta, cancellationToken), idempotent: true, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default) =>
        CallAsync(m => m.ListDatasetsAsync(cancellationToken), idempotent: true, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default) =>
        CallAsync(m => m.GetParametersAsync(cancellationToken), idempotent: true, cancellationToken);

    /// <summary>Updates the parameters on one endpoint (not moved on failure: the update may have been applied).</summary>
    public ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default) =>
        CallAsync(m => m.UpdateParametersAsync(update, cancellationToken), idempotent: false, cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default) =>
        StreamAsync(m => m.SampleAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, CancellationToken cancellationToken = default) =>
        StreamAsync(m => m.ReadDatasetAsync(request, cancellationToken), cancellationToken);

    /// <summary>Closes every endpoint's connection.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var endpoint in _endpoints)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<T> CallAsync<T>(Func<IModel, ValueTask<T>> call, bool idempotent, CancellationToken cancellationToken)
    {
        MaasException? last = null;
        for (int attempt = 0; attempt < 2 * _endpoints.Length; attempt++)
        {
            var endpoint = Pick(attempt);
            endpoint.Enter();
            try
            {
                var result = await call(await endpoint.ModelAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
                endpoint.Succeeded();
                return result;
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.Unavailable && !cancellationToken.IsCancellationRequested)
            {
                endpoint.Failed();
                last = ex;
                if (!idempotent)
                {
                    throw;
                }

                CountFailover();
            }
            finally
            {
                endpoint.Leave();
            }
        }

        throw last!;
    }

    private async IAsyncEnumerable<DoubleMatrix> StreamAsync(Func<IModel, IAsyncEnumerable<DoubleMatrix>> open, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        MaasException? last = null;
        for (int attempt = 0; attempt < 2 * _endpoints.Length; attempt++)
        {
            var endpoint = Pick(attempt);
            endpoint.Enter();
            try
            {
                IAsyncEnumerator<DoubleMatrix>? chunks = null;
                bool first;
                try
                {
                    // Until the first chunk nothing was delivered, so the stream may start over elsewhere.
                    chunks = open(await endpoint.ModelAsync(cancellationToken).ConfigureAwait(false)).GetAsyncEnumerator(cancellationToken);
                    first = await chunks.MoveNextAsync().ConfigureAwait(false);
                }
                catch (MaasException ex) when (ex.Code == MaasErrorCode.Unavailable && !cancellationToken.IsCancellationRequested)
                {
                    if (chunks is not null)
                    {
                        await chunks.DisposeAsync().ConfigureAwait(false);
                    }

                    endpoint.Failed();
                    last = ex;
                    CountFailover();
                    continue;
                }

                try
                {
                    for (bool more = first; more; more = await chunks.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield return chunks.Current;
                    }
                }
                finally
                {
                    await chunks.DisposeAsync().ConfigureAwait(false);
                }

                endpoint.Succeeded();
                yield break;
            }
            finally
            {
                endpoint.Leave();
            }
        }

        throw last!;
    }

    private void CountFailover()
    {
        Interlocked.Increment(ref _failovers);
        FailoverCounter.Add(1);
    }

    /// <summary>The healthy endpoint with the fewest calls outstanding; when none is healthy, the one that rests least longer.</summary>
    private ModelEndpoint Pick(int attempt)
    {
        ModelEndpoint? best = null;
        int offset = attempt % _endpoints.Length;
        for (int i = 0; i < _endpoints.Length; i++)
        {
            var candidate = _endpoints[(i + offset) % _endpoints.Length];
            if (candidate.IsHealthy && (best is null || candidate.Outstanding < best.Outstanding))
            {
                best = candidate;
            }
        }

        return best ?? _endpoints.MinBy(e => e.DownUntil)!;
    }
}
