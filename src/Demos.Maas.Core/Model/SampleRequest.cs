namespace Demos.Maas;

/// <summary>Arguments of a Sample call.</summary>
public sealed record SampleRequest
{
    /// <summary>Number of draws.</summary>
    public required long Count { get; init; }

    /// <summary>Seed; the same seed (and theta, and model version) gives the same draws whatever the chunk size. Null lets the server choose and report one.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Rows per streamed chunk; 0 lets the server choose.</summary>
    public int ChunkRows { get; init; }

    /// <summary>Parameter values for this call only; empty uses the model's current parameters.</summary>
    public ReadOnlyMemory<double> Theta { get; init; }
}
