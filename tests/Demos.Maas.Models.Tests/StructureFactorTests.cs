namespace Demos.Maas.Models.Tests;

/// <summary>Reference checks of the Percus–Yevick and Debye–Hückel structure factors.</summary>
public sealed class StructureFactorTests
{
    [Theory]
    [InlineData(0.05)]
    [InlineData(0.3)]
    [InlineData(0.49)]
    public void Hard_spheres_reach_the_compressibility_limit_at_zero_and_one_at_large_k(double eta)
    {
        double s0 = StructureFactors.HardSphereCompressibilityLimit(eta);
        Assert.Equal(s0, StructureFactors.HardSpherePercusYevick(0, eta), 14);
        Assert.Equal(s0, StructureFactors.HardSpherePercusYevick(1e-4, eta), 8);

        // |S − 1| falls like 1/q² (the jump of c(r) at contact): below 24η|c(σ⁻)|/q² · S².
        foreach (double q in new[] { 200.0, 1000.0, 5000.0 })
        {
            double s = StructureFactors.HardSpherePercusYevick(q, eta);
            Assert.True(Math.Abs(s - 1) < 50 * eta / (q * q) * Math.Pow((1 + (2 * eta)) / Math.Pow(1 - eta, 2), 2), $"S({q}) = {s}");
        }
    }

    [Theory]
    [InlineData(0.3, 0.5)]
    [InlineData(0.3, 0.999)]
    [InlineData(0.3, 1.0)]
    [InlineData(0.3, 1.001)]
    [InlineData(0.4, 7.0)]
    [InlineData(0.2, 25.0)]
    public void The_closed_form_equals_the_fourier_transform_of_c_of_r(double eta, double q)
    {
        // ρĉ(q) = 24η ∫₀¹ c(x) x² sin(qx)/(qx) dx with Wertheim's c(x) = −(α + βx + γx³), by Simpson's rule.
        double d4 = Math.Pow(1 - eta, 4);
        double alpha = Math.Pow(1 + (2 * eta), 2) / d4, beta = -6 * eta * Math.Pow(1 + (eta / 2), 2) / d4, gamma = eta * alpha / 2;
        const int N = 20_000;
        double sum = 0;
        for (int i = 0; i <= N; i++)
        {
            double x = (double)i / N;
            double f = i == 0 ? 0 : -(alpha + (beta * x) + (gamma * x * x * x)) * x * x * Math.Sin(q * x) / (q * x);
            sum += (i == 0 || i == N ? 1 : i % 2 == 1 ? 4 : 2) * f;
        }

        double rhoC = 24 * eta * sum / (3.0 * N);
        NumericChecks.Close(1 / (1 - rhoC), StructureFactors.HardSpherePercusYevick(q, eta), 1e-10);
    }

    [Fact]
    public void The_peak_of_dense_hard_spheres_is_where_and_as_high_as_known()
    {
        // At η = 0.49 the PY S(q) peaks near qσ ≈ 7 at about 3 (Hansen & McDonald, fig. 4.1 region).
        double best = 0, where = 0;
        for (double q = 5; q < 9; q += 0.001)
        {
            double s = StructureFactors.HardSpherePercusYevick(q, 0.49);
            if (s > best) { best = s; where = q; }
        }

        Assert.InRange(where, 6.8, 7.3);
        Assert.InRange(best, 2.5, 3.5);
    }

    [Fact]
    public void The_plasma_is_perfectly_screened_at_zero_and_free_at_large_k()
    {
        Assert.Equal(0, StructureFactors.OneComponentPlasmaDebyeHuckel(0, 1.0));
        Assert.Equal(1, StructureFactors.OneComponentPlasmaDebyeHuckel(1e8, 1.0), 12);

        // Small k: S ≈ (k a)² / 3Γ, the compressibility sum rule of the OCP in the DH limit.
        Assert.Equal(1e-6 / 3, StructureFactors.OneComponentPlasmaDebyeHuckel(1e-3, 1.0), 12);
    }

    [Fact]
    public async Task The_model_evaluates_both_liquids_with_per_call_parameters()
    {
        var model = StructureFactorModel.Create();
        var y = await model.EvaluateAsync([2.0], [0.4, 3.0]);
        Assert.Equal(StructureFactors.HardSpherePercusYevick(2, 0.4), y[0]);
        Assert.Equal(4 / 13.0, y[1], 15);
    }
}
