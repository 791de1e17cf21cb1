namespace Demos.Maas;

/// <summary>
/// The arguments a batch model function receives: x (rows × columns, row-major), theta, and for
/// VJP/JVP the vector; all spans point into buffers the caller owns for the duration of the call.
/// </summary>
public readonly ref struct ModelArgs
{
    /// <summary>Creates the arguments.</summary>
    public ModelArgs(ReadOnlySpan<double> x, int rows, int columns, ReadOnlySpan<double> theta, ReadOnlySpan<double> vector, CancellationToken cancellationToken)
    {
        X = x;
        Rows = rows;
        Columns = columns;
        Theta = theta;
        Vector = vector;
        CancellationToken = cancellationToken;
    }

    /// <summary>The points, row-major.</summary>
    public ReadOnlySpan<double> X { get; }

    /// <summary>Number of points.</summary>
    public int Rows { get; }

    /// <summary>Values per point.</summary>
    public int Columns { get; }

    /// <summary>Parameter values (all parameters concatenated).</summary>
    public ReadOnlySpan<double> Theta { get; }

    /// <summary>The vector of a VJP (rows × outputDim) or JVP (rows × inputDim); empty otherwise.</summary>
    public ReadOnlySpan<double> Vector { get; }

    /// <summary>Fires when the caller cancels or the deadline passes; long-running models should watch it.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Point <paramref name="row"/>.</summary>
    public ReadOnlySpan<double> Point(int row) => X.Slice(row * Columns, Columns);
}

/// <summary>The arguments a sampler receives for one chunk of draws.</summary>
public readonly ref struct SamplerArgs
{
    /// <summary>Creates the arguments.</summary>
    public SamplerArgs(Random random, int rows, int columns, ReadOnlySpan<double> theta, CancellationToken cancellationToken)
    {
        Random = random;
        Rows = rows;
        Columns = columns;
        Theta = theta;
        CancellationToken = cancellationToken;
    }

    /// <summary>The seeded generator; the same instance is passed for every chunk of one call, so draws do not depend on the chunk size.</summary>
    public Random Random { get; }

    /// <summary>Draws wanted in this chunk.</summary>
    public int Rows { get; }

    /// <summary>Values per draw.</summary>
    public int Columns { get; }

    /// <summary>Parameter values.</summary>
    public ReadOnlySpan<double> Theta { get; }

    /// <summary>Fires when the caller cancels or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }
}

/// <summary>A batch function: fills <paramref name="result"/> (rows × result columns, row-major) from the arguments.</summary>
public delegate void BatchFunction(ModelArgs args, Span<double> result);

/// <summary>A per-point function: one value from one point (e.g. a log-density).</summary>
public delegate double PointFunction(ReadOnlySpan<double> x, ReadOnlySpan<double> theta);

/// <summary>A sampler: fills <paramref name="result"/> (rows × columns) with draws.</summary>
public delegate void SamplerFunction(SamplerArgs args, Span<double> result);
