using System.Text.Json.Serialization;

namespace Demos.Maas.Registry;

/// <summary>
/// A <c>maas_reference</c> document: names one version of a model by uuid, where it is served, and the
/// checksum that identifies it (docs/identity.md; JSON Schema in docs/maas_reference.schema.json).
/// Read and write it with <see cref="MaasReferenceJson"/>, which validates it.
/// </summary>
public sealed class MaasReference
{
    /// <summary>The document type, always <c>maas_reference</c>.</summary>
    public const string DocumentType = "maas_reference";

    /// <summary>Always <see cref="DocumentType"/>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = DocumentType;

    /// <summary>The model's uuid (v4), the same for every version.</summary>
    [JsonPropertyName("uuid")]
    public Guid Uuid { get; set; }

    /// <summary>An address the version is served at (<c>tcp://…</c>, <c>http://…</c>, <c>maas://uuid</c>).</summary>
    [JsonPropertyName("endpoint")]
    public string Endpoint { get; set; } = "";

    /// <summary>The semantic version (<c>MAJOR.MINOR.PATCH</c>, optional pre-release and build).</summary>
    [JsonPropertyName("version")]
    public string Version { get; set; } = "";

    /// <summary><c>sha256:</c> and 64 lowercase hex digits (<see cref="ModelChecksum"/>).</summary>
    [JsonPropertyName("checksum")]
    public string Checksum { get; set; } = "";

    /// <summary>DOI, description, authors.</summary>
    [JsonPropertyName("metadata")]
    public MaasReferenceMetadata Metadata { get; set; } = new();
}
