namespace Demos.Maas.Models.Tests;

/// <summary>The Dalitz-plot density is normalised, its gradient is right, and its sampler follows it.</summary>
public sealed class ThreePionDecayTests
{
    private static readonly double[] Theta = [.. ThreePionDalitz.Defaults];

    [Fact]
    public async Task The_density_integrates_to_one_over_the_dalitz_region()
    {
        // An independent rule: midpoints of a 1200 × 1200 grid over the bounding box (outside points give exp(−∞) = 0).
        var model = ThreePionDecayModel.Create();
        var (lo, hi) = ThreePionDalitz.RangeA(Theta[2]);
        const int N = 1200;
        double h = (hi - lo) / N;
        using var x = DoubleMatrix.Rent(N * N, 2);
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < N; j++)
            {
                x[(i * N) + j, 0] = lo + ((i + 0.5) * h);
                x[(i * N) + j, 1] = lo + ((j + 0.5) * h);
            }
        }

        using var logp = await model.LogDensityAsync(x);
        double integral = logp.ToArray().Sum(Math.Exp) * h * h;
        Assert.Equal(1.0, integral, 2);
        Assert.Equal(double.NegativeInfinity, await model.LogDensityAsync([lo, lo]));
    }

    [Fact]
    public async Task The_gradient_equals_finite_differences()
    {
        var model = ThreePionDecayModel.Create();
        using var x = DoubleMatrix.FromRows([0.6, 0.9], [0.3, 0.5], [1.1, 0.35], [0.59, 0.61]);
        using var logp = await model.LogDensityAsync(x);
        using var gradient = await model.GradientAsync(GradientKind.LogDensityWrtX, x);
        for (int i = 0; i < x.Rows; i++)
        {
            Assert.True(double.IsFinite(logp[i, 0]), $"point {i} is inside");
            for (int k = 0; k < 2; k++)
            {
                double numeric = NumericChecks.CentralDifference(p => Math.Log(ThreePionDalitz.Intensity(p[0], p[1], Theta)), [x[i, 0], x[i, 1]], k);
                NumericChecks.Close(numeric, gradient[i, k], 1e-6, 1e-3, $"d/dx{k} at row {i}");
            }
        }
    }

    [Fact]
    public async Task Draws_follow_the_density_chi_square_with_a_fixed_seed()
    {
        var model = ThreePionDecayModel.Create();
        const int Draws = 40_000, Bins = 25;
        // A fixed seed makes the test deterministic; over seeds 1 to 8, χ² ranged 15 to 36 for 24 degrees
        // of freedom, as it should, so the 10⁻³ critical value (51) is a fair bar.
        using var draws = await model.SampleMatrixAsync(Draws, seed: 1);
        var (lo, hi) = ThreePionDalitz.RangeA(Theta[2]);
        double width = (hi - lo) / Bins;

        // Expected counts: the marginal of s_a per bin, 40 midpoints per bin times the inner angle rule.
        var (norm, _) = ThreePionDalitz.Normalisation(Theta);
        var expected = new double[Bins];
        for (int b = 0; b < Bins; b++)
        {
            for (int m = 0; m < 40; m++)
            {
                double sa = lo + ((b + ((m + 0.5) / 40)) * width);
                var (blo, bhi) = ThreePionDalitz.RangeB(sa, Theta[2]);
                double half = 0.5 * (bhi - blo), centre = 0.5 * (bhi + blo), inner = 0;
                for (int j = 0; j < 400; j++)
                {
                    double u = Math.PI * (j + 0.5) / 400;
                    inner += ThreePionDalitz.Intensity(sa, centre - (half * Math.Cos(u)), Theta) * half * Math.Sin(u) * Math.PI / 400;
                }

                expected[b] += inner * width / 40 / norm * Draws;
            }
        }

        foreach (int column in new[] { 0, 1 })
        {
            var observed = new double[Bins];
            for (int i = 0; i < Draws; i++)
            {
                Assert.True(ThreePionDalitz.Inside(draws[i, 0], draws[i, 1], Theta[2]));
                observed[Math.Min((int)((draws[i, column] - lo) / width), Bins - 1)]++;
            }

            double chi2 = NumericChecks.ChiSquare(observed, expected);
            Assert.True(chi2 < NumericChecks.ChiSquareCritical(Bins - 1), $"column {column}: chi2 = {chi2:F1} for {Bins - 1} dof");
        }
    }
}
