namespace Demos.Maas.Tests;

/// <summary>Matrices of reproducible random values for tests.</summary>
internal static class TestMatrices
{
    /// <summary><paramref name="rows"/> × <paramref name="columns"/> values in [offset, offset + 1), the same for the same seed.</summary>
    public static DoubleMatrix Random(int rows, int columns, int seed, double offset = 0)
    {
        var random = new Random(seed);
        var m = DoubleMatrix.Rent(rows, columns);
        foreach (ref double value in m.Span)
        {
            value = offset + random.NextDouble();
        }

        return m;
    }
}
