namespace Demos.Maas.Models;

/// <summary>
/// The Malfliet–Tjon nucleon–nucleon potential, V(r) = (V_R e^(−μ_R r) − V_A e^(−μ_A r)) / r, its
/// S-wave momentum-space matrix elements and the deuteron it binds.
/// </summary>
/// <remarks>
/// <para>Parameters of the ³S₁ potential MT-III (R. A. Malfliet and J. A. Tjon, Nucl. Phys. A 127
/// (1969) 161), in the form used by the three-nucleon benchmarks (G. L. Payne, J. L. Friar,
/// B. F. Gibson and I. R. Afnan, Phys. Rev. C 22 (1980) 823): V_R = 1438.72 MeV fm,
/// μ_R = 3.11 fm⁻¹, V_A = 626.885 MeV fm, μ_A = 1.55 fm⁻¹, ħ²/m_N = 41.47 MeV fm². The published
/// deuteron binding energy for this potential is 2.2307 MeV, which <see cref="DeuteronBindingEnergy"/>
/// reproduces (the tests check it to 1e-3 MeV).</para>
/// <para>Matrix elements: V₀(k, k′) = (2/π) ∫ r² j₀(kr) V(r) j₀(k′r) dr, which for a Yukawa term
/// V e^(−μr)/r is (2/π) V ln[(μ² + (k + k′)²) / (μ² + (k − k′)²)] / (4kk′) (MeV fm³, k in fm⁻¹).</para>
/// <para>The deuteron: u″(r) = (m_N/ħ²)(V(r) + B) u(r), u(0) = 0, u(∞) = 0, solved by Numerov's method
/// outward on a grid of 0.0005 fm to 30 fm with bisection on B.</para>
/// </remarks>
public static class MalflietTjonPotential
{
    /// <summary>ħ²/m_N in MeV fm² (twice ħ²/2μ for the reduced mass m_N/2).</summary>
    public const double HbarSquaredOverNucleonMass = 41.47;

    /// <summary>MT-III parameters: V_R [MeV fm], μ_R [fm⁻¹], V_A [MeV fm], μ_A [fm⁻¹].</summary>
    public static IReadOnlyList<double> Defaults { get; } = [1438.72, 3.11, 626.885, 1.55];

    /// <summary>The published MT-III deuteron binding energy in MeV.</summary>
    public const double PublishedDeuteronBindingEnergy = 2.2307;

    /// <summary>V(r) in MeV for r in fm; theta = (V_R, μ_R, V_A, μ_A).</summary>
    public static double Potential(double r, ReadOnlySpan<double> theta) =>
        ((theta[0] * Math.Exp(-theta[1] * r)) - (theta[2] * Math.Exp(-theta[3] * r))) / r;

    /// <summary>V₀(k, k′) in MeV fm³.</summary>
    public static double SWaveMatrixElement(double k, double kPrime, ReadOnlySpan<double> theta) =>
        2 / Math.PI * ((theta[0] * YukawaKernel(k, kPrime, theta[1])) - (theta[2] * YukawaKernel(k, kPrime, theta[3])));

    /// <summary>(∂V₀/∂k, ∂V₀/∂k′) in MeV fm⁴.</summary>
    public static (double ByK, double ByKPrime) SWaveMatrixElementGradient(double k, double kPrime, ReadOnlySpan<double> theta)
    {
        var (rk, rkp) = YukawaKernelGradient(k, kPrime, theta[1]);
        var (ak, akp) = YukawaKernelGradient(k, kPrime, theta[3]);
        return (2 / Math.PI * ((theta[0] * rk) - (theta[2] * ak)), 2 / Math.PI * ((theta[0] * rkp) - (theta[2] * akp)));
    }

    /// <summary>The deuteron binding energy B in MeV; NaN unless the potential has an S-wave bound state with 0 &lt; B &lt; 100 MeV.</summary>
    public static double DeuteronBindingEnergy(ReadOnlySpan<double> theta) => SolveDeuteron(theta, default);

    /// <summary>
    /// Solves for the deuteron; fills <paramref name="wave"/> (rows r = 0, 0.05, ... fm; may be empty)
    /// with u(r) normalised to ∫₀¹⁵ u² dr = 1 (r ≤ 15 fm, 301 values at most), and returns B in MeV.
    /// </summary>
    public static double SolveDeuteron(ReadOnlySpan<double> theta, Span<double> wave)
    {
        double low = 1e-9, high = 100;
        if (Shoot(theta, -low, default) > 0 || Shoot(theta, -high, default) < 0)
        {
            return double.NaN;
        }

        // u(R) < 0 when E is above the ground state (the solution has crossed zero once).
        while (high - low > 1e-12 * high)
        {
            double mid = 0.5 * (low + high);
            if (Shoot(theta, -mid, default) > 0) { high = mid; } else { low = mid; }
        }

        double binding = 0.5 * (low + high);
        if (!wave.IsEmpty)
        {
            Shoot(theta, -binding, wave);
        }

        return binding;
    }

    private const double Step = 0.0005, Range = 30;

    // Numerov outward from u(0) = 0; returns u(Range). wave (optional) gets u every 100 steps, normalised
    // over the part of the range where the solution has not yet turned back up (r < 15 fm).
    private static double Shoot(ReadOnlySpan<double> theta, double energy, Span<double> wave)
    {
        int steps = (int)Math.Round(Range / Step);
        double h2 = Step * Step / 12;

        // Near 0, V r → V_R − V_A, so f u → c u′(0) with c = (V_R − V_A)/(ħ²/m); u ≈ r + c r²/2.
        double c = (theta[0] - theta[2]) / HbarSquaredOverNucleonMass;
        double uPrev = 0, fuPrev = c, u = Step + (c * Step * Step / 2), fu = (Potential(Step, theta) - energy) / HbarSquaredOverNucleonMass * u;
        double norm = 0;
        int stride = 100;
        if (!wave.IsEmpty) { wave[0] = 0; }
        for (int n = 1; n < steps; n++)
        {
            double r = (n + 1) * Step;
            double fNext = (Potential(r, theta) - energy) / HbarSquaredOverNucleonMass;
            double next = ((2 * u) - uPrev + (h2 * (10 * fu + fuPrev))) / (1 - (h2 * fNext));
            uPrev = u; fuPrev = fu; u = next; fu = fNext * next;
            if (r <= 15) { norm += u * u * Step; }
            int index = (n + 1) / stride;
            if (!wave.IsEmpty && (n + 1) % stride == 0 && index < wave.Length) { wave[index] = u; }
        }

        if (!wave.IsEmpty)
        {
            double scale = 1 / Math.Sqrt(norm);
            for (int i = 0; i < wave.Length; i++) { wave[i] *= scale; }
        }

        return u;
    }

    // ln[(μ² + (k + k′)²) / (μ² + (k − k′)²)] / (4kk′), with its limit 1/(μ² + (k − k′)²) at kk′ = 0.
    private static double YukawaKernel(double k, double kp, double mu)
    {
        double b = (mu * mu) + ((k - kp) * (k - kp));
        double z = 4 * k * kp / b;
        return z == 0 ? 1 / b : Math.Log(1 + z) / z / b;
    }

    private static (double ByK, double ByKPrime) YukawaKernelGradient(double k, double kp, double mu)
    {
        double a = (mu * mu) + ((k + kp) * (k + kp)), b = (mu * mu) + ((k - kp) * (k - kp));
        double logRatio = Math.Log(a / b), kk = 4 * k * kp;
        double dk = (((2 * (k + kp) / a) - (2 * (k - kp) / b)) / kk) - (logRatio / (kk * k));
        double dkp = (((2 * (k + kp) / a) + (2 * (k - kp) / b)) / kk) - (logRatio / (kk * kp));
        return (dk, dkp);
    }
}
