using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Demos.Maas.Security;

/// <summary>Loads PEM certificates and validates peers against a configured CA, for every TLS transport.</summary>
public static class TlsCertificates
{
    /// <summary>The certificate with its private key.</summary>
    /// <exception cref="MaasException">InvalidArgument when a file is missing or not PEM.</exception>
    public static X509Certificate2 Load(string certificatePath, string? keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificatePath);
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

            // Re-imported so the key is usable by SslStream on every platform (an ephemeral PEM key is not, on Windows).
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"TLS: the certificate or key could not be loaded: {ex.Message}");
        }
    }

    /// <summary>The CA certificate (PEM).</summary>
    public static X509Certificate2 LoadCa(string caPath)
    {
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(caPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"TLS: the CA certificate could not be loaded: {ex.Message}");
        }
    }

    /// <summary>
    /// A validation callback that accepts a peer certificate only if it chains to <paramref name="ca"/>
    /// (and, for a server's certificate, names the host; <paramref name="checkName"/>).
    /// </summary>
    public static RemoteCertificateValidationCallback TrustOnly(X509Certificate2 ca, bool checkName) => (_, certificate, _, errors) =>
    {
        if (certificate is null)
        {
            return false;
        }

        if (checkName && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var peer = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(peer);
    };
}
