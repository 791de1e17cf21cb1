namespace Demos.Maas.Models.Tests;

/// <summary>Finite differences and goodness-of-fit, shared by the model tests.</summary>
internal static class NumericChecks
{
    /// <summary>Central difference of <paramref name="f"/> in coordinate <paramref name="k"/> with a relative step.</summary>
    public static double CentralDifference(Func<double[], double> f, double[] at, int k, double relativeStep = 1e-6, double floor = 1e-3)
    {
        double h = relativeStep * Math.Max(Math.Abs(at[k]), floor);
        double[] plus = [.. at], minus = [.. at];
        plus[k] += h;
        minus[k] -= h;
        return (f(plus) - f(minus)) / (2 * h);
    }

    /// <summary>Asserts |a − b| ≤ tolerance · max(|a|, |b|, floor).</summary>
    public static void Close(double expected, double actual, double tolerance, double floor = 1e-300, string? what = null)
    {
        double scale = Math.Max(Math.Max(Math.Abs(expected), Math.Abs(actual)), floor);
        Assert.True(Math.Abs(expected - actual) <= tolerance * scale, $"{what}: expected {expected:R}, got {actual:R} (relative difference {Math.Abs(expected - actual) / scale:E2}, tolerance {tolerance:E1})");
    }

    /// <summary>Pearson χ² of observed counts against expected counts (bins with expectation below 5 should be merged by the caller).</summary>
    public static double ChiSquare(IReadOnlyList<double> observed, IReadOnlyList<double> expected)
    {
        double chi2 = 0;
        for (int i = 0; i < observed.Count; i++)
        {
            chi2 += (observed[i] - expected[i]) * (observed[i] - expected[i]) / expected[i];
        }

        return chi2;
    }

    /// <summary>
    /// The χ² value exceeded with probability 10⁻³ for <paramref name="dof"/> degrees of freedom
    /// (Wilson–Hilferty: dof (1 − 2/(9 dof) + z √(2/(9 dof)))³ with z = 3.09; within 1 % for dof ≥ 10).
    /// </summary>
    public static double ChiSquareCritical(int dof)
    {
        double a = 2.0 / (9 * dof);
        return dof * Math.Pow(1 - a + (3.090232 * Math.Sqrt(a)), 3);
    }
}
