namespace Demos.Maas.Security;

/// <summary>
/// Who may call a server, and what they may do (docs/security.md). Set on
/// <see cref="Server.MaasServerOptions.Security"/>; null there means no authentication (every
/// caller may do everything), which a server refuses on a non-loopback address unless told
/// <see cref="Server.MaasServerOptions.AllowInsecure"/>.
/// </summary>
public sealed class MaasSecurityOptions
{
    /// <summary>The API keys (bearer tokens). Two keys with the same roles let a key be rotated without downtime.</summary>
    public IList<ApiKey> Keys { get; set; } = [];

    /// <summary>
    /// Roles by name, in addition to the built-in ones: <c>reader</c> (info, compute, sample on every
    /// model), <c>analyst</c> (reader + read_data) and <c>admin</c> (everything). A role defined here
    /// with a built-in name replaces it.
    /// </summary>
    public IDictionary<string, MaasRole> Roles { get; set; } = new Dictionary<string, MaasRole>(StringComparer.Ordinal);

    /// <summary>TLS client certificates as an identity (mutual TLS): certificate subject (e.g. <c>CN=fitter</c>) → roles.</summary>
    public IDictionary<string, IList<string>> Certificates { get; set; } = new Dictionary<string, IList<string>>(StringComparer.Ordinal);

    /// <summary>Per-caller rate and concurrency limits; null = none.</summary>
    public MaasRateLimitOptions? RateLimit { get; set; }

    /// <summary>The audit log: one record per call. On by default when security is on; set <see cref="MaasAuditOptions.Enabled"/> false to turn it off.</summary>
    public MaasAuditOptions Audit { get; set; } = new();
}
