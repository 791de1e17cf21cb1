using System.Diagnostics;
using Demos.Maas.Client;
using Demos.Maas.Transport;

namespace Demos.Maas.Registry;

/// <summary>
/// Probes every registered endpoint and records health and latency: <c>/health/ready</c> on HTTP,
/// and on binary transports the MaaS check (handshake, then Info of the registered model, so an
/// endpoint that answers but no longer serves the model is unhealthy too).
/// </summary>
public sealed class RegistryHealthMonitor(IRegistryStore store, IEnumerable<IMaasTransport> transports, TimeSpan probeTimeout, HttpClient? http = null)
{
    private readonly IMaasTransport[] _transports = [.. transports];
    private readonly HttpClient _http = http ?? new HttpClient();

    /// <summary>Probes every endpoint once (concurrently) and records what it found.</summary>
    public async Task ProbeAllAsync(CancellationToken cancellationToken = default)
    {
        var endpoints = await store.ListEndpointsAsync(null, null, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(endpoints.Select(async e =>
        {
            var (health, latency) = await ProbeAsync(e, cancellationToken).ConfigureAwait(false);
            await store.RecordHealthAsync(e.Uuid, e.Version, e.Uri, health, latency, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    /// <summary>Probes every <paramref name="interval"/> until cancelled; a failed round is retried at the next tick.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                await ProbeAllAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The store was briefly unreachable (e.g. PostgreSQL restarting): the next round tries again.
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }

    private async Task<(EndpointHealth Health, double? LatencyMs)> ProbeAsync(EndpointRecord endpoint, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(probeTimeout);
            var uri = new Uri(endpoint.Uri);
            if (uri.Scheme is "http" or "https")
            {
                using var response = await _http.GetAsync(new Uri(uri, "/health/ready"), timeout.Token).ConfigureAwait(false);
                return (response.IsSuccessStatusCode ? EndpointHealth.Healthy : EndpointHealth.Unhealthy, watch.Elapsed.TotalMilliseconds);
            }

            var options = new MaasClientOptions { ConnectTimeout = probeTimeout, DefaultTimeout = probeTimeout, Retry = null, Reconnect = false };
            foreach (var transport in _transports)
            {
                options.Transports.Add(transport);
            }

            await using var client = await MaasClient.ConnectAsync(uri, options, timeout.Token).ConfigureAwait(false);
            await client.GetModelAsync(endpoint.Uuid, timeout.Token).ConfigureAwait(false);
            return (client.IsConnected ? EndpointHealth.Healthy : EndpointHealth.Unhealthy, watch.Elapsed.TotalMilliseconds);
        }
        catch (Exception ex) when (ex is MaasException or HttpRequestException or OperationCanceledException or UriFormatException or IOException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            return (EndpointHealth.Unhealthy, null);
        }
    }
}
