using System.CommandLine;
using Demos.Maas.Registry;

namespace Demos.Maas.Cli;

/// <summary>The options every registry command shares: where the registry is and the write key.</summary>
internal static class RegistryOptions
{
    public const string KeyVariable = "MAAS_REGISTRY_KEY";

    public static Option<string?> Registry() => new("--registry", "-r") { Description = $"Registry URL, http://host:port (default: ${RegistryResolverOptions.EnvironmentVariable})" };

    public static Option<string?> Key() => new("--key") { Description = $"Write key of the registry (default: ${KeyVariable})" };

    public static RegistryClient Client(ParseResult result, Option<string?> registry, Option<string?>? key = null)
    {
        string url = result.GetValue(registry) ?? Environment.GetEnvironmentVariable(RegistryResolverOptions.EnvironmentVariable)
            ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"which registry? give --registry http://host:port or set {RegistryResolverOptions.EnvironmentVariable}.");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{url}' is not a registry URL such as http://127.0.0.1:8470.");
        }

        string? secret = key is null ? null : result.GetValue(key) ?? Environment.GetEnvironmentVariable(KeyVariable);
        return new RegistryClient(uri, string.IsNullOrEmpty(secret) ? null : secret);
    }
}
