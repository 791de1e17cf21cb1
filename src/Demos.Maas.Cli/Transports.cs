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
        var options = new MaasClientOptions
        {
            Credentials = Environment.GetEnvironmentVariable("MAAS_KEY") is { Length: > 0 } key ? key : null,
            Compression = Environment.GetEnvironmentVariable("MAAS_COMPRESSION") is { Length: > 0 } codec ? ClientCompression(codec, "MAAS_COMPRESSION") : null,
        };
        foreach (var t in All())
        {
            options.Transports.Add(t);
        }

        return options;
    }

    /// <summary>A client's compression setting: <c>auto</c> (null: the client decides by the URI), <c>none</c>, <c>lz4</c> or <c>zstd</c>.</summary>
    public static Protocol.MaasCompression? ClientCompression(string text, string setting) => text.Trim().ToLowerInvariant() switch
    {
        "auto" => null,
        "none" or "off" => Protocol.MaasCompression.None,
        "lz4" => Protocol.MaasCompression.Lz4,
        "zstd" => Protocol.MaasCompression.Zstd,
        _ => throw new MaasException(MaasErrorCode.InvalidArgument, $"{setting} '{text}' is not one of auto, none, lz4, zstd."),
    };

    /// <summary>The codecs a server accepts: a comma list of <c>lz4</c> and <c>zstd</c>, or <c>none</c>.</summary>
    public static List<Protocol.MaasCompression> ServerCompression(string text, string setting)
    {
        var codecs = new List<Protocol.MaasCompression>();
        foreach (var name in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            switch (ClientCompression(name, setting))
            {
                case Protocol.MaasCompression.None when text.Trim() is "none" or "off":
                    return codecs;
                case Protocol.MaasCompression codec when codec != Protocol.MaasCompression.None:
                    codecs.Add(codec);
                    break;
                default:
                    throw new MaasException(MaasErrorCode.InvalidArgument, $"{setting} '{text}' is not 'none' or a comma list of lz4, zstd.");
            }
        }

        return codecs.Count > 0 ? codecs : throw new MaasException(MaasErrorCode.InvalidArgument, $"{setting} '{text}' names no codec; use none, or a comma list of lz4, zstd.");
    }
}
