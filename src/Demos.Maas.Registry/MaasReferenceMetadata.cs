using System.Text.Json.Serialization;

namespace Demos.Maas.Registry;

/// <summary>The citable metadata of a <see cref="MaasReference"/>.</summary>
public sealed class MaasReferenceMetadata
{
    /// <summary>The DOI that cites the model (e.g. <c>10.5281/zenodo.1234567</c>), or null.</summary>
    [JsonPropertyName("doi")]
    public string? Doi { get; set; }

    /// <summary>What the model is.</summary>
    [JsonPropertyName("description")]
    public string? Description { get; set; }

    /// <summary>Its authors.</summary>
    [JsonPropertyName("authors")]
    public IList<string> Authors { get; set; } = [];

    /// <summary>The digest of the artifact the version is served from (<c>sha256:…</c> of the file, or a container image digest), or null; part of the checksum (docs/identity.md).</summary>
    [JsonPropertyName("artifact")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Artifact { get; set; }
}
