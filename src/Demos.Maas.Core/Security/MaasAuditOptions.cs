namespace Demos.Maas.Security;

/// <summary>
/// The audit log: one structured record per call (time, identity, model, operation, outcome code,
/// bytes in and out, duration, remote address), never secrets or payloads. Records go to the
/// <c>Demos.Maas.Audit</c> logger and, when <see cref="FilePath"/> is set, to a file of JSON lines.
/// </summary>
public sealed class MaasAuditOptions
{
    /// <summary>Write the audit log. Default true (it is written only when security is configured).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A file that receives one JSON object per line (appended); null = the logger only.</summary>
    public string? FilePath { get; set; }
}
