using System.Numerics;

namespace Demos.Maas.Models.Tests;

/// <summary>Reference checks of the three-flavour oscillation probabilities and their derivatives.</summary>
public sealed class NeutrinoOscillationTests
{
    private static readonly double[] Defaults = [.. NeutrinoOscillations.Defaults];

    public static TheoryData<double, double, double> Points => new()
    {
        { 0.5, 295, 0 }, { 2.5, 1300, 2.8 }, { 0.8, 810, 2.8 }, { 10, 6000, 4.5 }, { 0.003, 1, 0 }, { 1, 0, 2.8 },
    };

    [Theory]
    [MemberData(nameof(Points))]
    public void Probabilities_are_unitary_rows_and_columns_sum_to_one(double energy, double baseline, double rho)
    {
        double[] theta = [.. Defaults];
        theta[6] = rho;
        var p = new double[9];
        NeutrinoOscillations.Probabilities(theta, energy, baseline, p, default);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1.0, p[3 * i] + p[(3 * i) + 1] + p[(3 * i) + 2], 12);
            Assert.Equal(1.0, p[i] + p[3 + i] + p[6 + i], 12);
            Assert.All(p, v => Assert.InRange(v, -1e-14, 1 + 1e-14));
        }
    }

    [Theory]
    [InlineData(0.6, 295)]
    [InlineData(2.5, 1300)]
    [InlineData(0.004, 53)]
    [InlineData(1.0, 12000)]
    public void In_vacuum_they_equal_the_textbook_sum_over_mass_splittings(double energy, double baseline)
    {
        double[] theta = [.. Defaults];
        theta[6] = 0;
        var p = new double[9];
        NeutrinoOscillations.Probabilities(theta, energy, baseline, p, default);
        var u = new Complex[9];
        NeutrinoOscillations.Pmns(theta[0], theta[1], theta[2], theta[3], u);
        double[] m2 = [0, theta[4], theta[5]];
        for (int a = 0; a < 3; a++)
        {
            for (int b = 0; b < 3; b++)
            {
                // PDG review 14, eq. 14.8: P = δ − 4 Σ_{i>j} Re(X) sin²Δ_ij + 2 Σ_{i>j} Im(X) sin 2Δ_ij,
                // X = U*_αi U_βi U_αj U*_βj, Δ_ij = Δm²_ij L / 4E (1.267 eV⁻² GeV km⁻¹).
                double expected = a == b ? 1 : 0;
                for (int i = 0; i < 3; i++)
                {
                    for (int j = 0; j < i; j++)
                    {
                        Complex x = Complex.Conjugate(u[(3 * a) + i]) * u[(3 * b) + i] * u[(3 * a) + j] * Complex.Conjugate(u[(3 * b) + j]);
                        double delta = (m2[i] - m2[j]) * baseline / (4 * energy) * 1e-6 / 1.973269804e-7;
                        expected += (-4 * x.Real * Math.Sin(delta) * Math.Sin(delta)) + (2 * x.Imaginary * Math.Sin(2 * delta));
                    }
                }

                NumericChecks.Close(expected, p[(3 * a) + b], 1e-11, 1e-12, $"P({a}->{b})");
            }
        }
    }

    [Fact]
    public void With_theta12_and_theta13_zero_mu_to_tau_is_the_two_flavour_formula()
    {
        double[] theta = [0, 0, 0.7, 1.3, 7.4e-5, 2.5e-3, 0];
        var p = new double[9];
        foreach (var (energy, baseline) in new[] { (0.6, 295.0), (1.0, 500.0), (3.0, 7000.0) })
        {
            NeutrinoOscillations.Probabilities(theta, energy, baseline, p, default);
            double phase = 1.26693 * (theta[5] - theta[4]) * baseline / energy;
            double expected = Math.Pow(Math.Sin(2 * theta[2]), 2) * Math.Pow(Math.Sin(phase), 2);
            Assert.Equal(expected, p[5], 4);
            Assert.Equal(1.0, p[0], 14); // ν_e decouples
        }
    }

    [Fact]
    public void With_theta13_and_theta23_zero_in_matter_e_to_mu_is_the_two_flavour_msw_formula()
    {
        const double Rho = 3.0;
        double[] theta = [0.59, 0, 0, 0.4, 7.4e-5, 2.5e-3, Rho];
        var p = new double[9];
        foreach (var (energy, baseline) in new[] { (0.05, 3000.0), (0.3, 6000.0), (1.0, 12000.0) })
        {
            NeutrinoOscillations.Probabilities(theta, energy, baseline, p, default);
            double dm = theta[4], a = NeutrinoOscillations.MatterPotentialPerDensityEnergy * 0.5 * Rho * energy;
            double dmMatter = Math.Sqrt(Math.Pow((dm * Math.Cos(2 * theta[0])) - a, 2) + Math.Pow(dm * Math.Sin(2 * theta[0]), 2));
            double sin2ThetaMatter = dm * Math.Sin(2 * theta[0]) / dmMatter;
            double expected = sin2ThetaMatter * sin2ThetaMatter * Math.Pow(Math.Sin(dmMatter * baseline / (4 * energy) * NeutrinoOscillations.PhasePerUnit), 2);
            NumericChecks.Close(expected, p[1], 1e-10, 1e-12, $"E = {energy}");
        }

        // The potential itself: A = 1.52e-4 eV² per (Y_e ρ [g/cm³] E [GeV]) (PDG review 14, eq. 14.52 ff.).
        Assert.Equal(1.5265e-4, NeutrinoOscillations.MatterPotentialPerDensityEnergy, 7);
    }

    [Theory]
    [MemberData(nameof(Points))]
    public void Derivatives_equal_finite_differences(double energy, double baseline, double rho)
    {
        double[] theta = [.. Defaults];
        theta[6] = rho;
        const int P = NeutrinoOscillations.ParameterCount;
        var p = new double[9];
        var dp = new double[9 * P];
        NeutrinoOscillations.Probabilities(theta, energy, baseline, p, dp);
        for (int ab = 0; ab < 9; ab++)
        {
            for (int k = 0; k < P; k++)
            {
                double numeric = NumericChecks.CentralDifference(t =>
                {
                    var q = new double[9];
                    NeutrinoOscillations.Probabilities(t, energy, baseline, q, default);
                    return q[ab];
                }, theta, k, 1e-6, k == 6 ? 1 : 1e-3);
                double scale = k is 4 or 5 ? theta[k] : 1; // compare d/d ln Δm² for the splittings
                Assert.True(Math.Abs((numeric - dp[(ab * P) + k]) * scale) < 1e-6, $"dP[{ab}]/dθ{k}: analytic {dp[(ab * P) + k]}, numeric {numeric}");
            }
        }
    }
}
