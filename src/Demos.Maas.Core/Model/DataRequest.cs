namespace Demos.Maas;

/// <summary>Arguments of a dataset read: a slice of rows, streamed in chunks.</summary>
public sealed record DataRequest
{
    /// <summary>Dataset name.</summary>
    public required string Name { get; init; }

    /// <summary>First row.</summary>
    public long Offset { get; init; }

    /// <summary>Number of rows; -1 reads to the end.</summary>
    public long Count { get; init; } = -1;

    /// <summary>Rows per streamed chunk; 0 lets the server choose.</summary>
    public int ChunkRows { get; init; }
}
