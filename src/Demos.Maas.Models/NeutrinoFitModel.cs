namespace Demos.Maas.Models;

/// <summary>
/// The model "neutrino-fit": a toy long-baseline experiment (a ν_μ beam, L = 1300 km, 18 energy
/// bins from 0.5 to 5 GeV) with a binned Poisson likelihood. x is one row of 36 event counts (18
/// ν_μ-disappearance bins, then 18 ν_e-appearance bins); LogDensity is
/// log L(θ) = Σ_b [k_b ln μ_b(θ) − μ_b(θ) − ln k_b!], Gradient (d/dθ) is exact (through
/// <see cref="NeutrinoOscillations"/>), and the dataset "observed" holds the toy data, one Poisson
/// draw at the default parameters (seed 17).
/// </summary>
/// <remarks>
/// Expected counts μ_b = Φ(E_b) P(ν_μ → ν_x; E_b, L) (+ 2 background events per appearance bin),
/// with P at the bin centre and a smooth beam shape Φ(E) = 400 (E / 2 GeV)² e^(2 − E / GeV): a
/// teaching model, not a detector simulation.
/// </remarks>
public static class NeutrinoFitModel
{
    /// <summary>Name the model is served under.</summary>
    public const string Name = "neutrino-fit";

    /// <summary>Uuid of the model.</summary>
    public static readonly Guid Uuid = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a12");

    /// <summary>Energy bins per channel.</summary>
    public const int Bins = 18;

    /// <summary>Baseline in km.</summary>
    public const double BaselineKm = 1300;

    /// <summary>Background events per appearance bin.</summary>
    public const double AppearanceBackground = 2;

    /// <summary>Seed of the toy dataset.</summary>
    public const ulong DataSeed = 17;

    /// <summary>Centre of bin <paramref name="bin"/> in GeV.</summary>
    public static double BinCentre(int bin) => 0.5 + (0.25 * (bin + 0.5));

    /// <summary>Unoscillated ν_μ events in a bin at energy <paramref name="energyGeV"/>.</summary>
    public static double BeamEvents(double energyGeV) => 400 * (energyGeV / 2) * (energyGeV / 2) * Math.Exp(2 - energyGeV);

    /// <summary>Builds the model.</summary>
    public static IModel Create()
    {
        var observed = DoubleMatrix.Rent(1, 2 * Bins);
        var random = new SeededRandom(DataSeed);
        Span<double> expected = stackalloc double[2 * Bins];
        ExpectedCounts([.. NeutrinoOscillations.Defaults], expected, default);
        for (int i = 0; i < expected.Length; i++)
        {
            observed.Span[i] = PoissonDraw(random, expected[i]);
        }

        return NeutrinoOscillationModel.AddParameters(ModelBuilder.Create(Name))
            .WithUuid(Uuid)
            .WithVersion("1.0.0")
            .WithDescription($"Binned Poisson likelihood of a toy nu_mu beam at {BaselineKm} km: x = {2 * Bins} counts ({Bins} disappearance, {Bins} appearance bins, 0.5-5 GeV).")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(2 * Bins)
            .WithLogDensity(LogDensity)
            .WithLogDensityThetaGradient(GradientTheta)
            .WithDataset("observed", observed, $"toy counts drawn at the default parameters (seed {DataSeed})")
            .Build();
    }

    /// <summary>
    /// Expected counts (36 values) at <paramref name="theta"/>; <paramref name="derivatives"/>
    /// (empty, or 36 × 7) gets dμ_b / dθ_k at index b · 7 + k.
    /// </summary>
    public static void ExpectedCounts(ReadOnlySpan<double> theta, Span<double> expected, Span<double> derivatives)
    {
        const int P = NeutrinoOscillations.ParameterCount;
        Span<double> probabilities = stackalloc double[9];
        Span<double> dp = stackalloc double[9 * P];
        bool want = !derivatives.IsEmpty;
        for (int b = 0; b < Bins; b++)
        {
            double energy = BinCentre(b), beam = BeamEvents(energy);
            NeutrinoOscillations.Probabilities(theta, energy, BaselineKm, probabilities, want ? dp : default);

            // Row μ of P: index 3 = μ → e, 4 = μ → μ.
            expected[b] = beam * probabilities[4];
            expected[Bins + b] = (beam * probabilities[3]) + AppearanceBackground;
            if (want)
            {
                for (int k = 0; k < P; k++)
                {
                    derivatives[(b * P) + k] = beam * dp[(4 * P) + k];
                    derivatives[((Bins + b) * P) + k] = beam * dp[(3 * P) + k];
                }
            }
        }
    }

    private static void LogDensity(ModelArgs a, Span<double> result)
    {
        Span<double> mu = stackalloc double[2 * Bins];
        ExpectedCounts(a.Theta, mu, default);
        for (int i = 0; i < a.Rows; i++)
        {
            var k = a.Point(i);
            double sum = 0;
            for (int b = 0; b < mu.Length; b++)
            {
                sum += (k[b] == 0 ? 0 : k[b] * Math.Log(mu[b])) - mu[b] - SpecialFunctions.LogGamma(k[b] + 1);
            }

            result[i] = sum;
        }
    }

    private static void GradientTheta(ModelArgs a, Span<double> result)
    {
        const int P = NeutrinoOscillations.ParameterCount;
        Span<double> mu = stackalloc double[2 * Bins];
        Span<double> dmu = stackalloc double[2 * Bins * P];
        ExpectedCounts(a.Theta, mu, dmu);
        for (int i = 0; i < a.Rows; i++)
        {
            var k = a.Point(i);
            var row = result.Slice(i * P, P);
            row.Clear();
            for (int b = 0; b < mu.Length; b++)
            {
                double weight = (k[b] / mu[b]) - 1;
                for (int j = 0; j < P; j++) { row[j] += weight * dmu[(b * P) + j]; }
            }
        }
    }

    // Inversion from k = 0: exact, and exp(-mean) stays a normal double for the means here (< 700).
    private static double PoissonDraw(Random random, double mean)
    {
        double u = random.NextDouble();
        double p = Math.Exp(-mean), cdf = p;
        int k = 0;
        while (u > cdf && p > 0)
        {
            k++;
            p *= mean / k;
            cdf += p;
        }

        return k;
    }
}
