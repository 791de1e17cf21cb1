namespace Demos.Maas.Security;

/// <summary>
/// TLS for <c>tls://</c> (TCP) and <c>https://</c>: certificates and keys from PEM files
/// (<c>maas cert new</c> makes a test set). The same options serve both sides: a server presents
/// <see cref="CertificatePath"/>; a client presents it only for mutual TLS.
/// </summary>
public sealed class MaasTlsOptions
{
    /// <summary>This side's certificate (PEM). Required on a server; on a client, its identity for mutual TLS.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The private key of <see cref="CertificatePath"/> (PEM).</summary>
    public string? KeyPath { get; set; }

    /// <summary>
    /// The CA (PEM) that must have signed the peer's certificate. A client without it trusts the
    /// system's CAs; a server with it asks every client for a certificate signed by this CA.
    /// </summary>
    public string? TrustedCaPath { get; set; }

    /// <summary>Server: refuse clients without a valid certificate (mutual TLS). Default: true when <see cref="TrustedCaPath"/> is set.</summary>
    public bool? RequireClientCertificate { get; set; }

    /// <summary>Client: the name the server's certificate must carry, and the SNI sent; default the URI's host.</summary>
    public string? ServerName { get; set; }
}
