using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Demos.Maas.Client;

/// <summary>
/// One model served at several addresses, used as one <see cref="IModel"/>. Each call goes to the
/// healthy endpoint with the fewest calls outstanding (least outstanding requests). A call that
/// fails with <see cref="MaasErrorCode.Unavailable"/> (server gone, stopping, connection cut) is
/// retried on another endpoint when it is idempotent — every operation but UpdateParameters, and
/// streams until their first chunk — and an endpoint that keeps failing is ejected for a growing
/// time before one call probes it again (<see cref="LoadSpreadOptions"/>). Endpoints may be a static
/// list, a <c>maas+lb://</c> address (<see cref="LoadSpreadAddress"/>), <c>maas://uuid</c> entries
/// that a registry expands into the servers it lists, or <c>dns+tcp://name:port</c> entries whose
/// every address is a server (a Kubernetes headless Service), asked again periodically so that
/// servers that join later are used and those that left dropped. Failovers are counted in <see cref="Failovers"/>
/// and in the <c>maas.client.failovers</c> counter of the "Demos.Maas" meter; per endpoint (tag
/// <c>maas.endpoint</c>) in <c>maas.client.endpoint.calls</c>, <c>maas.client.endpoint.failures</c>
/// and <c>maas.client.endpoint.ejections</c>, and in <see cref="Status"/>.
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

    internal static readonly Counter<long> EndpointCalls =
        Middleware.MaasTelemetry.Meter.CreateCounter<long>("maas.client.endpoint.calls", "{call}", "Calls a load-spreading client sent to one endpoint (tag maas.endpoint).");

    internal static readonly Counter<long> EndpointFailures =
        Middleware.MaasTelemetry.Meter.CreateCounter<long>("maas.client.endpoint.failures", "{call}", "Calls that failed as Unavailable at one endpoint (tag maas.endpoint).");

    internal static readonly Counter<long> EndpointEjections =
        Middleware.MaasTelemetry.Meter.CreateCounter<long>("maas.client.endpoint.ejections", "{ejection}", "Times an endpoint was taken out of rotation (tag maas.endpoint).");

    private readonly string _model;
    private readonly MaasClientOptions _options;
    private readonly LoadSpreadOptions _spread;
    private readonly Uri[] _sources;
    private readonly Lock _update = new();
    private readonly List<ModelEndpoint> _retired = [];
    private readonly CancellationTokenSource _stop = new();
    private volatile ModelEndpoint[] _endpoints;
    private Task _refresh = Task.CompletedTask;
    private long _failovers;

    private MultiEndpointModel(string model, ModelEndpoint[] endpoints, Uri[] sources, ModelInfo info, MaasClientOptions options, LoadSpreadOptions spread)
    {
        _model = model;
        _endpoints = endpoints;
        _sources = sources;
        _options = options;
        _spread = spread;
        Info = info;
    }

    /// <summary>
    /// Connects to <paramref name="model"/> at every endpoint that answers now (at least one must); the
    /// others are tried again later. A <c>maas://uuid[@version]</c> endpoint is expanded through
    /// <see cref="LoadSpreadOptions.Resolve"/>, and a <c>dns+tcp://name:port</c> endpoint into one
    /// <c>tcp://</c> server per address of the name, now and every <see cref="LoadSpreadOptions.RefreshInterval"/>.
    /// </summary>
    /// <exception cref="MaasException">Unavailable when no endpoint answers; NotFound when the model is not there; InvalidArgument for no endpoints, bad settings, or a maas:// endpoint without a resolver.</exception>
    public static async Task<MultiEndpointModel> ConnectAsync(string model, IEnumerable<Uri> endpoints, MaasClientOptions? options = null, LoadSpreadOptions? spread = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new MaasClientOptions();
        spread = (spread ?? new LoadSpreadOptions()).Clone();
        spread.Validate();
        var given = endpoints.ToArray();
        if (given.Length == 0)
        {
            throw MaasException.InvalidArgument("A multi-endpoint model needs at least one endpoint.");
        }

        var sources = given.Where(IsSource).ToArray();
        if (sources.FirstOrDefault(IsModelAddress) is { } named && spread.Resolve is null)
        {
            throw MaasException.InvalidArgument($"{named} names a model, not a server: set LoadSpreadOptions.Resolve (a registry's RegistryTransport.ResolveEndpointsAsync) to expand it.");
        }

        if (sources.FirstOrDefault(u => u.Scheme == DnsScheme && (u.IsDefaultPort || u.Port <= 0 || u.HostNameType == UriHostNameType.Unknown)) is { } noPort)
        {
            throw MaasException.InvalidArgument($"{noPort}: a {DnsScheme}:// endpoint needs a host name and a port, e.g. {DnsScheme}://maas-pods:5000.");
        }

        var all = given.Where(u => !IsSource(u)).Select(u => new ModelEndpoint(u, model, options, spread)).ToList();
        foreach (var found in await DiscoverAsync(sources, spread, options, cancellationToken).ConfigureAwait(false))
        {
            if (!all.Any(e => e.Uri == found))
            {
                all.Add(new ModelEndpoint(found, model, options, spread) { Discovered = true });
            }
        }

        if (all.Count == 0)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"No server is listed for {string.Join(", ", sources.Select(s => s.ToString()))} now.");
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

        if (info is null)
        {
            foreach (var endpoint in all)
            {
                await endpoint.DisposeAsync().ConfigureAwait(false);
            }

            throw last ?? new MaasException(MaasErrorCode.Unavailable, "No server is listed for this model now.");
        }

        var connected = new MultiEndpointModel(model, [.. all], sources, info, options, spread);
        if (sources.Length > 0)
        {
            connected._refresh = Task.Run(connected.RefreshLoopAsync, CancellationToken.None);
        }

        return connected;
    }

    /// <summary>Connects to the model and endpoints a <c>maas+lb://</c> address names, with its settings.</summary>
    /// <exception cref="MaasException">As <see cref="ConnectAsync(string, IEnumerable{Uri}, MaasClientOptions?, LoadSpreadOptions?, CancellationToken)"/>.</exception>
    public static Task<MultiEndpointModel> ConnectAsync(LoadSpreadAddress address, MaasClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        return ConnectAsync(address.Model, address.Endpoints, options, address.Options, cancellationToken);
    }

    /// <summary>Asks the resolver again now (it also does every <see cref="LoadSpreadOptions.RefreshInterval"/>): adds servers that joined, drops those no longer listed. Endpoints given as server addresses always stay.</summary>
    /// <returns>False when the resolver failed (the endpoints are kept as they were).</returns>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken = default)
    {
        if (_sources.Length == 0)
        {
            return true;
        }

        IReadOnlyList<Uri> found;
        try
        {
            found = await DiscoverAsync(_sources, _spread, _options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A registry that cannot be reached must not stop the calls: keep the servers known.
            return false;
        }

        lock (_update)
        {
            var current = _endpoints;
            var next = current.Where(e => !e.Discovered || found.Contains(e.Uri)).ToList();
            foreach (var uri in found)
            {
                if (!next.Any(e => e.Uri == uri))
                {
                    next.Add(new ModelEndpoint(uri, _model, _options, _spread) { Discovered = true });
                }
            }

            _retired.AddRange(current.Except(next));
            _endpoints = [.. next];
        }

        await DisposeIdleRetiredAsync().ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public ModelInfo Info { get; }

    /// <summary>The servers' addresses now: those given, then those discovered.</summary>
    public IReadOnlyList<Uri> Endpoints => [.. _endpoints.Select(e => e.Uri)];

    /// <summary>Health, calls outstanding, calls, failures and ejections of every endpoint now.</summary>
    public IReadOnlyList<LoadSpreadEndpoint> Status => [.. _endpoints.Select(e => e.Status())];

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

    /// <summary>Stops the refreshes and closes every endpoint's connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _refresh.ConfigureAwait(false);
        ModelEndpoint[] all;
        lock (_update)
        {
            all = [.. _endpoints, .. _retired];
            _retired.Clear();
        }

        foreach (var endpoint in all)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    /// <summary>The scheme of a DNS name whose every address (A and AAAA records, e.g. a Kubernetes headless Service) is one tcp:// server.</summary>
    public const string DnsScheme = "dns+tcp";

    private static bool IsModelAddress(Uri uri) => uri.Scheme == "maas";

    private static bool IsSource(Uri uri) => IsModelAddress(uri) || uri.Scheme == DnsScheme;

    /// <summary>The servers the resolver lists for the sources, preferred first, only those some transport of the client speaks.</summary>
    private static async Task<IReadOnlyList<Uri>> DiscoverAsync(Uri[] sources, LoadSpreadOptions spread, MaasClientOptions options, CancellationToken cancellationToken)
    {
        var found = new List<Uri>();
        foreach (var source in sources)
        {
            IEnumerable<Uri> servers;
            if (source.Scheme == DnsScheme)
            {
                var addresses = await System.Net.Dns.GetHostAddressesAsync(source.DnsSafeHost, cancellationToken).ConfigureAwait(false);
                servers = addresses.Select(a => new Uri(a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"tcp://[{a}]:{source.Port}/" : $"tcp://{a}:{source.Port}/"));
            }
            else
            {
                servers = await spread.Resolve!(source, cancellationToken).ConfigureAwait(false);
            }

            foreach (var uri in servers)
            {
                bool speaks = uri.Scheme == "inproc" || options.Transports.Any(t => t.CanHandle(uri));
                if (speaks && !IsSource(uri) && !found.Contains(uri))
                {
                    found.Add(uri);
                }
            }
        }

        return found;
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(_spread.RefreshInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await RefreshAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private async Task DisposeIdleRetiredAsync()
    {
        List<ModelEndpoint> idle;
        lock (_update)
        {
            idle = [.. _retired.Where(e => e.Outstanding == 0)];
            _retired.RemoveAll(idle.Contains);
        }

        foreach (var endpoint in idle)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<T> CallAsync<T>(Func<IModel, ValueTask<T>> call, bool idempotent, CancellationToken cancellationToken)
    {
        MaasException? last = null;
        var endpoints = _endpoints;
        for (int attempt = 0; attempt < 2 * endpoints.Length; attempt++)
        {
            var endpoint = Pick(endpoints, attempt);
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

        throw last ?? new MaasException(MaasErrorCode.Unavailable, "No server is listed for this model now.");
    }

    private async IAsyncEnumerable<DoubleMatrix> StreamAsync(Func<IModel, IAsyncEnumerable<DoubleMatrix>> open, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        MaasException? last = null;
        var endpoints = _endpoints;
        for (int attempt = 0; attempt < 2 * endpoints.Length; attempt++)
        {
            var endpoint = Pick(endpoints, attempt);
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

        throw last ?? new MaasException(MaasErrorCode.Unavailable, "No server is listed for this model now.");
    }

    private void CountFailover()
    {
        Interlocked.Increment(ref _failovers);
        FailoverCounter.Add(1);
    }

    /// <summary>The healthy endpoint with the fewest calls outstanding; when none is healthy, the one that rests least longer.</summary>
    private static ModelEndpoint Pick(ModelEndpoint[] endpoints, int attempt)
    {
        ModelEndpoint? best = null;
        int offset = attempt % endpoints.Length;
        for (int i = 0; i < endpoints.Length; i++)
        {
            var candidate = endpoints[(i + offset) % endpoints.Length];
            if (candidate.IsHealthy && (best is null || candidate.Outstanding < best.Outstanding))
            {
                best = candidate;
            }
        }

        return best ?? endpoints.MinBy(e => e.DownUntil)!;
    }
}
