namespace Demos.Maas;

/// <summary>A named pre-computed dataset a model offers: a rows × columns float64 table.</summary>
public sealed class DatasetInfo
{
    /// <summary>Name, unique within the model.</summary>
    public required string Name { get; init; }

    /// <summary>Number of rows.</summary>
    public long Rows { get; init; }

    /// <summary>Values per row.</summary>
    public int Columns { get; init; }

    /// <summary>Free text for people.</summary>
    public string? Description { get; init; }
}
