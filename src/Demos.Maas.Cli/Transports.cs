using Demos.Maas.Client;
using Demos.Maas.Transport;

namespace Demos.Maas.Cli;

/// <summary>The transports the tool speaks: the one registration it shares with the native library.</summary>
internal static class Transports
{
    public static IMaasTransport[] All(Security.MaasTlsOptions? tls = null) => StandardTransports.Create(tls ?? ClientTls());

    // A client's TLS settings from the environment: the CA to trust, and a certificate for mutual TLS.
    private static Security.MaasTlsOptions? ClientTls()
    {
        string? ca = Environment.GetEnvironmentVariable("MAAS_TLS_CA");
        string? certificate = Environment.GetEnvironmentVariable("MAAS_TLS_CERT");
        return ca is null && certificate is null ? null : new Security.MaasTlsOptions { TrustedCaPath = ca, CertificatePath = certificate, KeyPath = Environment.GetEnvironmentVariable("MAAS_TLS_KEY") };
    }

    public static MaasClientOptions ClientOptions()
    {
        // The API key of a server that authenticates its callers (docs/security.md); never a command-line argument, which other users can read.
        var options = new MaasClientOptions { Credentials = Environment.GetEnvironmentVariable("MAAS_KEY") is { Length: > 0 } key ? key : null };
        foreach (var t in All())
        {
            options.Transports.Add(t);
        }

        return options;
    }
}
