namespace Demos.Maas.Registry;

/// <summary>One registered version of a model: its reference as registered (never overwritten) and when.</summary>
public sealed class ModelVersionRecord
{
    /// <summary>The model's display name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The reference document of this version.</summary>
    public MaasReference Reference { get; set; } = new();

    /// <summary>When this version was registered.</summary>
    public DateTimeOffset RegisteredAt { get; set; }
}
