using Demos.Maas.Security;

namespace Demos.Maas.Tests;

/// <summary>One CA, server and client certificate set per test run, made as <c>maas cert new</c> makes it.</summary>
internal static class TestCertificates
{
    private static readonly Lazy<string> Set = new(() =>
    {
        string directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"maas-certs-{Environment.ProcessId}-{Guid.NewGuid():N}");
        CertificateAuthority.Create(directory, [], "fitter", TimeSpan.FromDays(1));
        return directory;
    });

    public static string Directory => Set.Value;

    public static string FileOf(string name) => System.IO.Path.Combine(Set.Value, name);

    /// <summary>A server presenting server.pem; it asks clients for a certificate signed by the CA, but does not require one.</summary>
    public static MaasTlsOptions Server(bool requireClientCertificate = false) =>
        new() { CertificatePath = FileOf("server.pem"), KeyPath = FileOf("server.key"), TrustedCaPath = FileOf("ca.pem"), RequireClientCertificate = requireClientCertificate };

    /// <summary>A client trusting the CA, optionally presenting client.pem (subject CN=fitter).</summary>
    public static MaasTlsOptions Client(bool withCertificate = false) =>
        new() { TrustedCaPath = FileOf("ca.pem"), CertificatePath = withCertificate ? FileOf("client.pem") : null, KeyPath = withCertificate ? FileOf("client.key") : null };
}
