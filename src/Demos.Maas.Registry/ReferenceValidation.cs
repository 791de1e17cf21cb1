using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Demos.Maas.Registry;

/// <summary>The rules of docs/maas_reference.schema.json, checked field by field so an error names the field and what was expected.</summary>
internal static partial class ReferenceValidation
{
    public static MaasReference Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Error("", $"expected a JSON object, got {root.ValueKind}");
        }

        string type = RequiredString(root, "type");
        if (type != MaasReference.DocumentType)
        {
            throw Error("type", $"expected \"{MaasReference.DocumentType}\", got \"{type}\"");
        }

        var reference = new MaasReference
        {
            Uuid = Uuid(RequiredString(root, "uuid"), "uuid"),
            Endpoint = Endpoint(RequiredString(root, "endpoint")),
            Version = Version(RequiredString(root, "version"), "version"),
            Checksum = Checksum(RequiredString(root, "checksum"), "checksum"),
        };
        if (!root.TryGetProperty("metadata", out var metadata))
        {
            throw Error("metadata", "missing (an object with doi, description, authors)");
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw Error("metadata", $"expected an object, got {metadata.ValueKind}");
        }

        reference.Metadata.Doi = OptionalString(metadata, "doi", "metadata.doi");
        if (reference.Metadata.Doi is { } doi && !DoiPattern().IsMatch(doi))
        {
            throw Error("metadata.doi", $"expected a DOI such as 10.5281/zenodo.1234567, got \"{doi}\"");
        }

        reference.Metadata.Description = OptionalString(metadata, "description", "metadata.description");
        if (!metadata.TryGetProperty("authors", out var authors) || authors.ValueKind != JsonValueKind.Array)
        {
            throw Error("metadata.authors", "expected an array of author names");
        }

        int i = 0;
        foreach (var author in authors.EnumerateArray())
        {
            if (author.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(author.GetString()))
            {
                throw Error($"metadata.authors[{i}]", "expected a non-empty string");
            }

            reference.Metadata.Authors.Add(author.GetString()!);
            i++;
        }

        reference.Metadata.Artifact = OptionalString(metadata, "artifact", "metadata.artifact");
        if (reference.Metadata.Artifact is { } artifact && !ArtifactPattern().IsMatch(artifact))
        {
            throw Error("metadata.artifact", $"expected an algorithm and lowercase hex digest such as sha256:9f86…, got \"{artifact}\"");
        }

        return reference;
    }

    public static Guid Uuid(string text, string field)
    {
        if (!Guid.TryParseExact(text, "D", out var uuid))
        {
            throw Error(field, $"expected a UUID such as 3f2c8a9e-1b7d-4c51-9a0e-6d2f4b8c1e07, got \"{text}\"");
        }

        // The version nibble is the 13th hex digit; the variant the 17th (RFC 9562).
        if (text[14] != '4' || "89abAB".IndexOf(text[19], StringComparison.Ordinal) < 0)
        {
            throw Error(field, $"expected a random UUID (version 4), got \"{text}\"");
        }

        return uuid;
    }

    public static string Version(string text, string field)
    {
        if (!SemanticVersion.TryParse(text, out _))
        {
            throw Error(field, $"expected a semantic version MAJOR.MINOR.PATCH such as 1.2.0, got \"{text}\"");
        }

        return text;
    }

    public static string Checksum(string text, string field)
    {
        if (!ChecksumPattern().IsMatch(text))
        {
            throw Error(field, $"expected \"sha256:\" and 64 lowercase hex digits, got \"{text}\"");
        }

        return text;
    }

    private static string Endpoint(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out _))
        {
            throw Error("endpoint", $"expected an absolute URI such as tcp://host:5000 or maas://<uuid>, got \"{text}\"");
        }

        return text;
    }

    private static string RequiredString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value))
        {
            throw Error(name, "missing");
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Error(name, $"expected a string, got {value.ValueKind}");
        }

        return value.GetString()!;
    }

    private static string? OptionalString(JsonElement obj, string name, string field)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Error(field, $"expected a string or null, got {value.ValueKind}");
    }

    private static RegistryException Error(string field, string what) =>
        new(RegistryError.MalformedReference, string.Create(CultureInfo.InvariantCulture, $"maas_reference: {(field.Length == 0 ? "document" : $"field '{field}'")}: {what}."), field.Length == 0 ? null : field);

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex ChecksumPattern();

    [GeneratedRegex("^(sha256|sha384|sha512):[0-9a-f]{64,128}$")]
    private static partial Regex ArtifactPattern();

    [GeneratedRegex(@"^10\.[0-9]{4,9}/\S+$")]
    private static partial Regex DoiPattern();
}
