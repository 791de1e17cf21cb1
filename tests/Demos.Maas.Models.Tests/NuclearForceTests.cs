namespace Demos.Maas.Models.Tests;

/// <summary>Reference checks of the Malfliet–Tjon potential and its deuteron.</summary>
public sealed class NuclearForceTests
{
    private static readonly double[] Theta = [.. MalflietTjonPotential.Defaults];

    [Fact]
    public void The_deuteron_binding_energy_is_the_published_value()
    {
        double binding = MalflietTjonPotential.DeuteronBindingEnergy(Theta);
        Assert.Equal(MalflietTjonPotential.PublishedDeuteronBindingEnergy, binding, 3);

        // No attraction, no bound state.
        Assert.True(double.IsNaN(MalflietTjonPotential.DeuteronBindingEnergy([1438.72, 3.11, 0, 1.55])));
    }

    [Theory]
    [InlineData(0.3, 0.3)]
    [InlineData(0.1, 2.0)]
    [InlineData(1.5, 0.7)]
    [InlineData(4.0, 3.5)]
    public void The_closed_form_matrix_element_equals_the_radial_integral(double k, double kp)
    {
        // (2/π) ∫ r² j₀(kr) V(r) j₀(k′r) dr by the midpoint rule on [0, 40] fm; the integrand is smooth (V r² ~ r).
        const int N = 400_000;
        const double R = 40;
        double sum = 0, h = R / N;
        for (int i = 0; i < N; i++)
        {
            double r = (i + 0.5) * h;
            sum += Math.Sin(k * r) * Math.Sin(kp * r) / (k * kp) * MalflietTjonPotential.Potential(r, Theta);
        }

        NumericChecks.Close(2 / Math.PI * sum * h, MalflietTjonPotential.SWaveMatrixElement(k, kp, Theta), 1e-7, 1e-3, $"V0({k}, {kp})");
    }

    [Fact]
    public void At_zero_momentum_the_matrix_element_is_its_limit()
    {
        double expected = 2 / Math.PI * ((Theta[0] / (Theta[1] * Theta[1])) - (Theta[2] / (Theta[3] * Theta[3])));
        Assert.Equal(expected, MalflietTjonPotential.SWaveMatrixElement(0, 0, Theta), 12);
        NumericChecks.Close(MalflietTjonPotential.SWaveMatrixElement(1e-7, 0.5, Theta), MalflietTjonPotential.SWaveMatrixElement(0, 0.5, Theta), 1e-6);
    }

    [Fact]
    public async Task Vjp_and_jvp_equal_finite_differences()
    {
        var model = NuclearForceModel.Create();
        using var x = DoubleMatrix.FromRows([0.3, 0.4], [1.2, 0.2], [2.5, 2.0]);
        using var v = DoubleMatrix.FromColumn(1.0, -2.0, 0.5);
        using var vjp = await model.GradientAsync(GradientKind.EvaluateVjp, x, v);
        using var dir = DoubleMatrix.FromRows([1.0, 0.0], [0.3, -0.7], [0.0, 1.0]);
        using var jvp = await model.GradientAsync(GradientKind.EvaluateJvp, x, dir);
        for (int i = 0; i < x.Rows; i++)
        {
            double[] point = [x[i, 0], x[i, 1]];
            double dk = NumericChecks.CentralDifference(p => MalflietTjonPotential.SWaveMatrixElement(p[0], p[1], Theta), point, 0);
            double dkp = NumericChecks.CentralDifference(p => MalflietTjonPotential.SWaveMatrixElement(p[0], p[1], Theta), point, 1);
            NumericChecks.Close(v[i, 0] * dk, vjp[i, 0], 1e-7, 1e-6, "vjp k");
            NumericChecks.Close(v[i, 0] * dkp, vjp[i, 1], 1e-7, 1e-6, "vjp k'");
            NumericChecks.Close((dir[i, 0] * dk) + (dir[i, 1] * dkp), jvp[i, 0], 1e-7, 1e-6, "jvp");
        }
    }

    [Fact]
    public async Task The_deuteron_dataset_is_normalised_and_decays_like_exp_minus_kappa_r()
    {
        var model = NuclearForceModel.Create();
        using var wave = await model.ReadDatasetMatrixAsync("deuteron");
        Assert.Equal(NuclearForceModel.WaveRows, wave.Rows);
        double norm = 0;
        for (int i = 1; i < wave.Rows; i++) { norm += 0.05 * 0.5 * ((wave[i, 1] * wave[i, 1]) + (wave[i - 1, 1] * wave[i - 1, 1])); }
        Assert.Equal(1.0, norm, 3);

        // Outside the force range u ∝ exp(−κr), κ = sqrt(B m/ħ²).
        double kappa = Math.Sqrt(MalflietTjonPotential.PublishedDeuteronBindingEnergy / MalflietTjonPotential.HbarSquaredOverNucleonMass);
        double ratio = wave[200, 1] / wave[160, 1]; // r = 10 and 8 fm
        Assert.Equal(Math.Exp(-2 * kappa), ratio, 3);
    }
}
