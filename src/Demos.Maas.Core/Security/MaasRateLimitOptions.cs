namespace Demos.Maas.Security;

/// <summary>
/// Token-bucket and concurrency limits per caller identity (an API key, a certificate, or the remote
/// address of an anonymous caller) and per model. A call over a limit fails with ResourceExhausted
/// carrying a retry-after hint (HTTP 429 with <c>Retry-After</c>); the client's retries wait that long.
/// </summary>
public sealed class MaasRateLimitOptions
{
    /// <summary>Calls a caller may make per second, sustained. Default 1000.</summary>
    public double CallsPerSecond { get; set; } = 1000;

    /// <summary>Calls a caller may make at once above the sustained rate (the bucket's size). Default 200.</summary>
    public int Burst { get; set; } = 200;

    /// <summary>Calls one caller may have running at once; 0 = no limit. Default 64.</summary>
    public int MaxConcurrentPerCaller { get; set; } = 64;

    /// <summary>Calls per second one model accepts from all callers together; 0 = no limit. Default 0.</summary>
    public double ModelCallsPerSecond { get; set; }
}
