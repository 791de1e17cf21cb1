namespace Demos.Maas.Models;

/// <summary>
/// The model "three-pion-decay": a normalised Dalitz-plot density of π⁻π⁻π⁺ through ρ⁰(770).
/// x = (s_a, s_b) = (m²(π⁻₁π⁺), m²(π⁻₂π⁺)) in GeV²; LogDensity is log(|A|² / N) inside the
/// kinematic region and −∞ outside; Gradient (d/dx) is exact; Sample draws by accept–reject from
/// the bounding box. Physics: <see cref="ThreePionDalitz"/>.
/// </summary>
public static class ThreePionDecayModel
{
    /// <summary>Name the model is served under.</summary>
    public const string Name = "three-pion-decay";

    /// <summary>Uuid of the model.</summary>
    public static readonly Guid Uuid = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a14");

    /// <summary>Builds the model.</summary>
    public static IModel Create()
    {
        var cache = new NormalisationCache();
        var d = ThreePionDalitz.Defaults;
        return ModelBuilder.Create(Name)
            .WithUuid(Uuid)
            .WithVersion("1.0.0")
            .WithDescription("Dalitz plot of pi- pi- pi+ through rho0(770) pi- (Bose-symmetric, P-wave Breit-Wigner): x = (m^2(pi-_1 pi+), m^2(pi-_2 pi+)) [GeV^2], normalised over the kinematic region.")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(2)
            .WithScalarParameter("mrho", d[0], 0.3, 1.2, "rho(770) mass [GeV]")
            .WithScalarParameter("gammarho", d[1], 0.01, 0.5, "rho(770) width [GeV]")
            .WithScalarParameter("M", d[2], 0.6, 3.0, "mass of the three-pion system [GeV]")
            .WithLogDensity((a, result) =>
            {
                double logNorm = Math.Log(cache.Get(a.Theta).Norm);
                for (int i = 0; i < a.Rows; i++)
                {
                    var x = a.Point(i);
                    result[i] = ThreePionDalitz.Inside(x[0], x[1], a.Theta[2])
                        ? Math.Log(ThreePionDalitz.Intensity(x[0], x[1], a.Theta)) - logNorm
                        : double.NegativeInfinity;
                }
            })
            .WithLogDensityGradient(GradientX)
            .WithSampler((a, result) =>
            {
                double bound = 1.5 * cache.Get(a.Theta).Max;
                var (lo, hi) = ThreePionDalitz.RangeA(a.Theta[2]);
                for (int i = 0; i < a.Rows; i++)
                {
                    while (true)
                    {
                        double sa = lo + ((hi - lo) * a.Random.NextDouble()), sb = lo + ((hi - lo) * a.Random.NextDouble());
                        if (ThreePionDalitz.Inside(sa, sb, a.Theta[2]) && a.Random.NextDouble() * bound < ThreePionDalitz.Intensity(sa, sb, a.Theta))
                        {
                            result[2 * i] = sa;
                            result[(2 * i) + 1] = sb;
                            break;
                        }
                    }
                }
            })
            .Build();
    }

    // d log|A|² / ds = 2 Re(conj(A) dA/ds) / |A|²; zero outside the region, where the density is flat at −∞.
    private static void GradientX(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            if (!ThreePionDalitz.Inside(x[0], x[1], a.Theta[2]))
            {
                result[2 * i] = result[(2 * i) + 1] = 0;
                continue;
            }

            var amplitude = ThreePionDalitz.Amplitude(x[0], x[1], a.Theta, out var bySa, out var bySb);
            double intensity = (amplitude.Real * amplitude.Real) + (amplitude.Imaginary * amplitude.Imaginary);
            result[2 * i] = 2 * ((amplitude.Real * bySa.Real) + (amplitude.Imaginary * bySa.Imaginary)) / intensity;
            result[(2 * i) + 1] = 2 * ((amplitude.Real * bySb.Real) + (amplitude.Imaginary * bySb.Imaginary)) / intensity;
        }
    }

    // The normalisation costs 160 000 amplitude evaluations: computed once per distinct theta (the
    // last one is kept; calls at the server's current parameters all hit it).
    private sealed class NormalisationCache
    {
        // A reference, so a concurrent reader sees either the old or the new entry, never a mix.
        private Entry? _last;

        public (double Norm, double Max) Get(ReadOnlySpan<double> theta)
        {
            var last = _last;
            if (last is not null && theta.SequenceEqual(last.Theta))
            {
                return (last.Norm, last.Max);
            }

            var (norm, max) = ThreePionDalitz.Normalisation(theta);
            _last = new Entry(theta.ToArray(), norm, max);
            return (norm, max);
        }

        private sealed record Entry(double[] Theta, double Norm, double Max);
    }
}
