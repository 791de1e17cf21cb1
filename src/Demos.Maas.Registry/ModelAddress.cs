namespace Demos.Maas.Registry;

/// <summary>The model part of a <c>maas://</c> URI: <c>&lt;uuid&gt;[@version]</c>.</summary>
internal static class ModelAddress
{
    public const string Scheme = "maas";

    public static (Guid Uuid, string? Version) Parse(string text)
    {
        int at = text.IndexOf('@', StringComparison.Ordinal);
        string uuidText = at < 0 ? text : text[..at];
        string? version = at < 0 ? null : text[(at + 1)..];
        if (!Guid.TryParseExact(uuidText, "D", out var uuid))
        {
            throw new RegistryException(RegistryError.MalformedReference, $"'{text}' is not a model address: expected <uuid>[@version], e.g. 3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07@1.2.0.", "uuid");
        }

        if (version is not null && !SemanticVersion.TryParse(version, out _))
        {
            throw new RegistryException(RegistryError.MalformedReference, $"'{text}': '{version}' is not a semantic version MAJOR.MINOR.PATCH.", "version");
        }

        return (uuid, version);
    }

    /// <summary>The address of a <c>maas://uuid[@version]</c> URI, read from its text: <see cref="Uri"/> would take the uuid before '@' for user info.</summary>
    public static (Guid Uuid, string? Version) FromUri(Uri uri)
    {
        string text = uri.OriginalString;
        string prefix = Scheme + "://";
        if (!text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new RegistryException(RegistryError.MalformedReference, $"'{text}' is not a maas:// URI: expected maas://<uuid>[@version].", "uri");
        }

        return Parse(text[prefix.Length..].TrimEnd('/'));
    }
}
