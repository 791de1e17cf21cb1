namespace Demos.Maas;

/// <summary>
/// What a model is and what it offers: identity (uuid, name, version, authors, doi), dimensions,
/// parameters and capabilities. The same record is served by every transport.
/// </summary>
public sealed class ModelInfo
{
    /// <summary>Persistent identifier (a maas_reference uuid).</summary>
    public Guid Uuid { get; init; }

    /// <summary>Short name, unique on a server.</summary>
    public required string Name { get; init; }

    /// <summary>Model version (semantic versioning recommended).</summary>
    public string Version { get; init; } = "0.0.0";

    /// <summary>Free text for people.</summary>
    public string? Description { get; init; }

    /// <summary>Authors, for citation.</summary>
    public IReadOnlyList<string> Authors { get; init; } = [];

    /// <summary>DOI, for citation.</summary>
    public string? Doi { get; init; }

    /// <summary>What the model can do.</summary>
    public ModelCapabilities Capabilities { get; init; }

    /// <summary>Columns of x for Evaluate, LogDensity, Gradient and of Sample's draws.</summary>
    public int InputDimension { get; init; }

    /// <summary>Columns of Evaluate's result.</summary>
    public int OutputDimension { get; init; }

    /// <summary>Element type of all arrays. Only "f64" in protocol 1.0.</summary>
    public string DType { get; init; } = "f64";

    /// <summary>Parameters theta, in the order their values are concatenated.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; init; } = [];

    /// <summary>Total number of parameter values (sum of the parameters' sizes).</summary>
    public int ParameterCount
    {
        get
        {
            int n = 0;
            foreach (var p in Parameters)
            {
                n += p.Size;
            }

            return n;
        }
    }

    /// <summary>True when the model has every capability in <paramref name="capabilities"/>.</summary>
    public bool Has(ModelCapabilities capabilities) => (Capabilities & capabilities) == capabilities;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Version} ({Uuid})";
}
