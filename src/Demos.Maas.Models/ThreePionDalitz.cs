using System.Numerics;

namespace Demos.Maas.Models;

/// <summary>
/// A Dalitz-plot model of a spin-0 parent of mass M decaying to π⁻π⁻π⁺ through ρ⁰(770)π⁻, the
/// simplified shape of the three-pion system in τ⁻ → π⁻π⁻π⁺ν: amplitude, kinematic region and
/// normalisation.
/// </summary>
/// <remarks>
/// <para>Coordinates s_a = m²(π⁻₁π⁺), s_b = m²(π⁻₂π⁺) in GeV². The amplitude is Bose-symmetric
/// in the two π⁻: A = BW(s_a) (s_c − s_b) + BW(s_b) (s_c − s_a), with s_c = m²(π⁻₁π⁻₂) =
/// M² + 3m_π² − s_a − s_b; the factors s_c − s_b are the Zemach spin-1 tensors of the P-wave ρ decay
/// (C. Zemach, Phys. Rev. 133 (1964) B1201). BW is the relativistic Breit–Wigner with a P-wave
/// running width, BW(s) = 1 / (m_ρ² − s − i m_ρ Γ(s)), Γ(s) = Γ_ρ (q/q_ρ)³ m_ρ/√s, q the pion
/// momentum in the ρ frame (J. D. Jackson, Nuovo Cim. 34 (1964) 1644; masses and width from PDG 2022).</para>
/// <para>The kinematic boundary is that of the PDG review "Kinematics" (§49.4.3.1): for given s_a,
/// s_b lies between (E₂* + E₃*)² − (p₂* ± p₃*)². The density |A|² / N is normalised over that
/// region; N is computed by a product midpoint rule in angles (s = centre − half-width · cos t),
/// which also smooths the square-root edges of the region.</para>
/// </remarks>
public static class ThreePionDalitz
{
    /// <summary>Charged pion mass in GeV (PDG 2022).</summary>
    public const double PionMass = 0.13957039;

    /// <summary>Defaults (m_ρ, Γ_ρ, M) in GeV: PDG 2022 ρ(770) (e⁺e⁻ average) and a 1.5 GeV three-pion system.</summary>
    public static IReadOnlyList<double> Defaults { get; } = [0.77526, 0.1491, 1.5];

    /// <summary>Nodes per dimension of the normalisation rule.</summary>
    public const int NormalisationNodes = 400;

    /// <summary>s_a range [(2m)², (M − m)²].</summary>
    public static (double Low, double High) RangeA(double parentMass) => (4 * PionMass * PionMass, (parentMass - PionMass) * (parentMass - PionMass));

    /// <summary>s_b range for a given s_a (empty range when s_a is outside its own).</summary>
    public static (double Low, double High) RangeB(double sa, double parentMass)
    {
        double m2 = PionMass * PionMass, mab = Math.Sqrt(sa);
        double e2 = sa / (2 * mab);                                   // π⁺ energy in the (π⁻₁π⁺) frame
        double e3 = ((parentMass * parentMass) - sa - m2) / (2 * mab); // π⁻₂ energy in that frame
        double p2 = Math.Sqrt(Math.Max((e2 * e2) - m2, 0)), p3 = Math.Sqrt(Math.Max((e3 * e3) - m2, 0));
        double sum = (e2 + e3) * (e2 + e3);
        return (sum - ((p2 + p3) * (p2 + p3)), sum - ((p2 - p3) * (p2 - p3)));
    }

    /// <summary>True when (s_a, s_b) is inside the Dalitz region.</summary>
    public static bool Inside(double sa, double sb, double parentMass)
    {
        var (lo, hi) = RangeA(parentMass);
        if (!(sa > lo && sa < hi)) { return false; }
        var (blo, bhi) = RangeB(sa, parentMass);
        return sb > blo && sb < bhi;
    }

    /// <summary>|A(s_a, s_b)|² (unnormalised); theta = (m_ρ, Γ_ρ, M).</summary>
    public static double Intensity(double sa, double sb, ReadOnlySpan<double> theta) => Amplitude(sa, sb, theta, out _, out _).MagnitudeSquared();

    /// <summary>A and its derivatives in s_a and s_b.</summary>
    public static Complex Amplitude(double sa, double sb, ReadOnlySpan<double> theta, out Complex bySa, out Complex bySb)
    {
        double sc = (theta[2] * theta[2]) + (3 * PionMass * PionMass) - sa - sb;
        Complex bwA = BreitWigner(sa, theta[0], theta[1], out Complex dbwA);
        Complex bwB = BreitWigner(sb, theta[0], theta[1], out Complex dbwB);
        bySa = (dbwA * (sc - sb)) - bwA - (2 * bwB);
        bySb = (dbwB * (sc - sa)) - bwB - (2 * bwA);
        return (bwA * (sc - sb)) + (bwB * (sc - sa));
    }

    /// <summary>N = ∫ |A|² over the region, and the largest |A|² met on the rule's nodes.</summary>
    public static (double Norm, double Max) Normalisation(ReadOnlySpan<double> theta)
    {
        const int N = NormalisationNodes;
        var (lo, hi) = RangeA(theta[2]);
        double sum = 0, max = 0, half = 0.5 * (hi - lo), centre = 0.5 * (hi + lo);
        for (int i = 0; i < N; i++)
        {
            double t = Math.PI * (i + 0.5) / N;
            double sa = centre - (half * Math.Cos(t)), dsa = half * Math.Sin(t) * Math.PI / N;
            var (blo, bhi) = RangeB(sa, theta[2]);
            double bhalf = 0.5 * (bhi - blo), bcentre = 0.5 * (bhi + blo), inner = 0;
            for (int j = 0; j < N; j++)
            {
                double u = Math.PI * (j + 0.5) / N;
                double value = Intensity(sa, bcentre - (bhalf * Math.Cos(u)), theta);
                inner += value * bhalf * Math.Sin(u) * Math.PI / N;
                max = Math.Max(max, value);
            }

            sum += inner * dsa;
        }

        return (sum, max);
    }

    private static Complex BreitWigner(double s, double mass, double width, out Complex derivative)
    {
        double m2 = PionMass * PionMass;
        double q = Math.Sqrt(Math.Max((s / 4) - m2, 1e-300)), q0 = Math.Sqrt((mass * mass / 4) - m2);
        double running = width * Math.Pow(q / q0, 3) * mass / Math.Sqrt(s);
        double dRunning = running * ((3 / (8 * q * q)) - (1 / (2 * s)));
        Complex bw = 1 / new Complex((mass * mass) - s, -mass * running);
        derivative = bw * bw * new Complex(1, mass * dRunning);
        return bw;
    }

    private static double MagnitudeSquared(this Complex z) => (z.Real * z.Real) + (z.Imaginary * z.Imaginary);
}
