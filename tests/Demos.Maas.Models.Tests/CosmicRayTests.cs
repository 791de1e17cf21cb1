namespace Demos.Maas.Models.Tests;

/// <summary>Closed-form limits of the diffusion-loss solution, and the arrival-energy sampler against its density.</summary>
public sealed class CosmicRayTests
{
    private static readonly double[] Theta = [.. CosmicRayDiffusion.Defaults, 1.0, 1.0, 1e4];

    [Theory]
    [InlineData(1.0)]
    [InlineData(30.0)]
    [InlineData(1000.0)]
    public void The_volume_integral_is_the_loss_steepened_injection_spectrum(double energy)
    {
        // ∫ 4πr² n dr by Simpson's rule in ln r from 10⁻⁵ to 10³ kpc (4πr² n ~ r near the source).
        const int N = 1000;
        double low = Math.Log(1e-5), high = Math.Log(1e3), h = (high - low) / N, sum = 0;
        for (int i = 0; i <= N; i++)
        {
            double r = Math.Exp(low + (i * h));
            sum += (i == 0 || i == N ? 1 : i % 2 == 1 ? 4 : 2) * 4 * Math.PI * r * r * r * CosmicRayDiffusion.Density(energy, r, Theta);
        }

        NumericChecks.Close(CosmicRayDiffusion.VolumeIntegral(energy, Theta), sum * h / 3, 2e-6);
    }

    [Theory]
    [InlineData(1.0, 0.5)]
    [InlineData(100.0, 2.0)]
    public void Without_losses_it_is_the_diffusion_solution_q_over_4_pi_d_r(double energy, double radius)
    {
        double[] theta = [.. Theta];
        theta[3] = 1e-20; // the finite-loss correction is O(r / sqrt(lambda_max)), about 1e-10 here
        double d = theta[1] * Math.Pow(energy, theta[2]);
        double expected = Math.Pow(energy, -theta[0]) / (4 * Math.PI * d * radius);
        NumericChecks.Close(expected, CosmicRayDiffusion.Density(energy, radius, theta), 1e-6);
    }

    [Fact]
    public async Task The_arrival_energy_density_is_normalised()
    {
        var model = CosmicRayModel.Create();
        const int N = 4000;
        double low = Math.Log(1.0), high = Math.Log(1e4), h = (high - low) / N;
        using var x = DoubleMatrix.Rent(N, 1);
        for (int i = 0; i < N; i++) { x[i, 0] = Math.Exp(low + ((i + 0.5) * h)); }
        using var logp = await model.LogDensityAsync(x);
        double integral = 0;
        for (int i = 0; i < N; i++) { integral += Math.Exp(logp[i, 0]) * x[i, 0] * h; }
        Assert.Equal(1.0, integral, 5);
        Assert.Equal(double.NegativeInfinity, await model.LogDensityAsync([0.5]));
    }

    [Fact]
    public async Task Draws_follow_the_density_chi_square_with_a_fixed_seed()
    {
        var model = CosmicRayModel.Create();
        const int Draws = 20_000, Bins = 20;
        using var draws = await model.SampleMatrixAsync(Draws, seed: 7);
        double low = Math.Log(1.0), high = Math.Log(1e4), width = (high - low) / Bins;
        var observed = new double[Bins];
        foreach (double e in draws.ToArray())
        {
            Assert.InRange(e, 1.0, 1e4);
            observed[Math.Min((int)((Math.Log(e) - low) / width), Bins - 1)]++;
        }

        // Expected counts: the normalised density integrated over each bin (40 midpoints in ln E).
        var expected = new double[Bins];
        using var x = DoubleMatrix.Rent(Bins * 40, 1);
        for (int i = 0; i < Bins * 40; i++) { x[i, 0] = Math.Exp(low + ((i + 0.5) * width / 40)); }
        using var logp = await model.LogDensityAsync(x);
        for (int i = 0; i < Bins * 40; i++) { expected[i / 40] += Math.Exp(logp[i, 0]) * x[i, 0] * width / 40 * Draws; }

        // Merge the sparse high-energy tail so every bin expects at least 5.
        var (o, ex) = (new List<double>(), new List<double>());
        double carryO = 0, carryE = 0;
        for (int b = 0; b < Bins; b++)
        {
            carryO += observed[b]; carryE += expected[b];
            if (carryE >= 5 || b == Bins - 1) { o.Add(carryO); ex.Add(carryE); carryO = carryE = 0; }
        }

        double chi2 = NumericChecks.ChiSquare(o, ex);
        Assert.True(chi2 < NumericChecks.ChiSquareCritical(o.Count - 1), $"chi2 = {chi2:F1} for {o.Count - 1} dof");
    }

    [Fact]
    public async Task Evaluate_is_the_density_at_the_observer_with_per_call_parameters()
    {
        var model = CosmicRayModel.Create();
        double[] theta = [.. Theta];
        theta[CosmicRayModel.ObserverIndex] = 0.3;
        var y = await model.EvaluateAsync([50.0], theta);
        Assert.Equal(CosmicRayDiffusion.Density(50, 0.3, theta), y[0]);
    }
}
