namespace Demos.Maas;

/// <summary>One named model parameter: its shape, default, bounds.</summary>
public sealed class ParameterInfo
{
    /// <summary>Name, unique within the model.</summary>
    public required string Name { get; init; }

    /// <summary>Shape; empty for a scalar. The values travel flattened, row-major.</summary>
    public IReadOnlyList<int> Shape { get; init; } = [];

    /// <summary>Default value, flattened; its length is <see cref="Size"/>.</summary>
    public required IReadOnlyList<double> Default { get; init; }

    /// <summary>Lower bounds, flattened, or null when unbounded below.</summary>
    public IReadOnlyList<double>? Lower { get; init; }

    /// <summary>Upper bounds, flattened, or null when unbounded above.</summary>
    public IReadOnlyList<double>? Upper { get; init; }

    /// <summary>Free text for people.</summary>
    public string? Description { get; init; }

    /// <summary>Number of values (product of the shape; 1 for a scalar).</summary>
    public int Size
    {
        get
        {
            int size = 1;
            foreach (int s in Shape)
            {
                size *= s;
            }

            return size;
        }
    }
}
