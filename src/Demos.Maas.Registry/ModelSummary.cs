namespace Demos.Maas.Registry;

/// <summary>A model as search lists it: its latest version's metadata and all its versions.</summary>
public sealed class ModelSummary
{
    /// <summary>The model's uuid.</summary>
    public Guid Uuid { get; set; }

    /// <summary>The display name of its latest version.</summary>
    public string Name { get; set; } = "";

    /// <summary>The highest version by semantic-version precedence.</summary>
    public string LatestVersion { get; set; } = "";

    /// <summary>Every registered version, lowest first.</summary>
    public IList<string> Versions { get; set; } = [];

    /// <summary>The latest version's metadata.</summary>
    public MaasReferenceMetadata Metadata { get; set; } = new();
}
