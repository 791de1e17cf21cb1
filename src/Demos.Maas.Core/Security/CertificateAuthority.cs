using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Demos.Maas.Security;

/// <summary>
/// A self-signed certificate set for testing TLS and mutual TLS (<c>maas cert new</c>): a CA, a server
/// certificate for the given names, and a client certificate, all as PEM files. Not for production:
/// use your institution's CA there.
/// </summary>
public static class CertificateAuthority
{
    /// <summary>Writes <c>ca.pem</c>, <c>ca.key</c>, <c>server.pem</c>, <c>server.key</c>, <c>client.pem</c>, <c>client.key</c> into <paramref name="directory"/>.</summary>
    /// <param name="directory">Where to write (created if missing).</param>
    /// <param name="serverNames">DNS names and IP addresses the server certificate is valid for (localhost, 127.0.0.1 and ::1 are always in).</param>
    /// <param name="clientName">The client certificate's common name; its subject is <c>CN=clientName</c>.</param>
    /// <param name="validFor">Lifetime of the certificates.</param>
    public static void Create(string directory, IEnumerable<string> serverNames, string clientName, TimeSpan validFor)
    {
        ArgumentNullException.ThrowIfNull(serverNames);
        Directory.CreateDirectory(directory);
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Demos.Maas test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now, now + validFor);
        Write(directory, "ca", ca, caKey);

        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        foreach (var name in serverNames)
        {
            if (IPAddress.TryParse(name, out var ip)) { san.AddIpAddress(ip); } else { san.AddDnsName(name); }
        }

        Issue(directory, "server", "CN=localhost", ca, now, validFor, san.Build(), new Oid("1.3.6.1.5.5.7.3.1"));
        Issue(directory, "client", $"CN={clientName}", ca, now, validFor, null, new Oid("1.3.6.1.5.5.7.3.2"));
    }

    private static void Issue(string directory, string name, string subject, X509Certificate2 ca, DateTimeOffset from, TimeSpan validFor, X509Extension? san, Oid usage)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        // CreateSelfSigned left the CA certificate holding its key: it signs directly.
        using var certificate = request.Create(ca, from, from + validFor, serial);
        Write(directory, name, certificate, key);
    }

    private static void Write(string directory, string name, X509Certificate2 certificate, ECDsa key)
    {
        File.WriteAllText(Path.Combine(directory, name + ".pem"), certificate.ExportCertificatePem());
        string keyPath = Path.Combine(directory, name + ".key");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
