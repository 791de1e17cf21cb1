namespace Demos.Maas.Client;

/// <summary>
/// How a <see cref="MultiEndpointModel"/> spreads calls and treats failing endpoints: outlier
/// ejection after consecutive failures, and re-discovery of endpoints that join or leave later
/// (through a registry, see <see cref="Resolve"/>). The defaults eject an endpoint at its first
/// failure for 200 ms, doubling with each further failure in a row up to 10 s.
/// </summary>
public sealed class LoadSpreadOptions
{
    /// <summary>Consecutive <see cref="MaasErrorCode.Unavailable"/> failures after which an endpoint is ejected (taken out of rotation). Default 1.</summary>
    public int EjectAfterFailures { get; set; } = 1;

    /// <summary>How long the first ejection lasts; each further failure in a row doubles it. When it has passed, one call probes the endpoint. Default 200 ms.</summary>
    public TimeSpan EjectionTime { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest ejection. Default 10 s.</summary>
    public TimeSpan MaxEjectionTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Expands an endpoint that names a model rather than a server (<c>maas://uuid[@version]</c>) into
    /// the servers' addresses, preferred first; called at connect and every <see cref="RefreshInterval"/>,
    /// so servers that register later are picked up and deregistered ones are dropped. Null: such
    /// endpoints are refused with InvalidArgument. The registry package sets it
    /// (<c>RegistryTransport.ResolveEndpointsAsync</c>).
    /// </summary>
    public Func<Uri, CancellationToken, Task<IReadOnlyList<Uri>>>? Resolve { get; set; }

    /// <summary>How often <see cref="Resolve"/> is asked again. Default 5 s.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks the settings.</summary>
    /// <exception cref="MaasException">InvalidArgument naming the setting.</exception>
    public void Validate()
    {
        if (EjectAfterFailures < 1)
        {
            throw MaasException.InvalidArgument($"LoadSpreadOptions.EjectAfterFailures must be at least 1 (got {EjectAfterFailures}).");
        }

        if (EjectionTime <= TimeSpan.Zero || MaxEjectionTime < EjectionTime)
        {
            throw MaasException.InvalidArgument($"LoadSpreadOptions.EjectionTime must be positive and MaxEjectionTime at least as long (got {EjectionTime} and {MaxEjectionTime}).");
        }

        if (RefreshInterval <= TimeSpan.Zero)
        {
            throw MaasException.InvalidArgument($"LoadSpreadOptions.RefreshInterval must be positive (got {RefreshInterval}).");
        }
    }

    /// <summary>A copy.</summary>
    public LoadSpreadOptions Clone() => (LoadSpreadOptions)MemberwiseClone();
}

/// <summary>What a <see cref="MultiEndpointModel"/> knows of one endpoint now.</summary>
/// <param name="Uri">The server's address.</param>
/// <param name="Healthy">False while ejected.</param>
/// <param name="Outstanding">Calls in flight there now.</param>
/// <param name="Calls">Calls sent there (attempts, including those that failed).</param>
/// <param name="Failures">Calls that failed there with Unavailable.</param>
/// <param name="Ejections">Times it was taken out of rotation.</param>
public sealed record LoadSpreadEndpoint(Uri Uri, bool Healthy, int Outstanding, long Calls, long Failures, long Ejections);
