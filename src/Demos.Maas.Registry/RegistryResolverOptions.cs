namespace Demos.Maas.Registry;

/// <summary>Where <c>maas://</c> URIs are resolved.</summary>
public sealed class RegistryResolverOptions
{
    /// <summary>The environment variable read when <see cref="Registry"/> is null.</summary>
    public const string EnvironmentVariable = "MAAS_REGISTRY";

    /// <summary>
    /// A registry's address (<c>http://host:port</c>), or the path of a <c>maas_reference</c> file or of
    /// a directory of them (<c>*.json</c>). Null: the <c>MAAS_REGISTRY</c> environment variable.
    /// </summary>
    public string? Registry { get; set; }

    /// <summary>The HTTP client used to ask the registry; null = one of the resolver's own.</summary>
    public HttpClient? Http { get; set; }
}
