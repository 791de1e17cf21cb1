namespace Demos.Maas.Models;

/// <summary>
/// Static structure factors of two simple liquids in closed form: hard spheres in the
/// Percus–Yevick approximation and the one-component plasma in the Debye–Hückel limit.
/// </summary>
/// <remarks>
/// <para>Hard spheres of diameter σ at packing fraction η: the Percus–Yevick direct correlation
/// function is c(r) = −(α + β r/σ + γ (r/σ)³) for r &lt; σ and 0 beyond, with
/// α = (1 + 2η)² / (1 − η)⁴, β = −6η (1 + η/2)² / (1 − η)⁴, γ = ηα/2 (M. S. Wertheim, Phys. Rev.
/// Lett. 10 (1963) 321; E. Thiele, J. Chem. Phys. 39 (1963) 474). Its Fourier transform is
/// elementary (N. W. Ashcroft and J. Lekner, Phys. Rev. 145 (1966) 83) and S(q) = 1 / (1 − ρĉ(q))
/// with q = kσ. Below q = 1 the closed form loses digits to cancellation, so the transform is summed
/// as its Taylor series there. Limits the tests check: S(0) = (1 − η)⁴ / (1 + 2η)², the PY
/// compressibility; S(q) → 1 as q → ∞.</para>
/// <para>One-component plasma at coupling Γ = e² / (a k_B T) (a the ion-sphere radius): in the
/// Debye–Hückel limit S(k) = k² / (k² + k_D²) with (k_D a)² = 3Γ (J.-P. Hansen and I. R. McDonald,
/// Theory of Simple Liquids, 4th ed., §10.2). Limits: S(0) = 0 (perfect screening) and S → 1.</para>
/// </remarks>
public static class StructureFactors
{
    /// <summary>S(q) of hard spheres at packing fraction <paramref name="eta"/> (0 ≤ η &lt; 1), q = k σ.</summary>
    public static double HardSpherePercusYevick(double q, double eta)
    {
        if (!(eta >= 0 && eta < 1))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"packing fraction must be in [0, 1); got {eta}.");
        }

        return 1 / (1 - DirectCorrelation(Math.Abs(q), eta));
    }

    /// <summary>S(k) of the one-component plasma at coupling <paramref name="gamma"/> in the Debye–Hückel limit, k in units of 1/a.</summary>
    public static double OneComponentPlasmaDebyeHuckel(double ka, double gamma)
    {
        if (!(gamma >= 0))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"coupling must be non-negative; got {gamma}.");
        }

        double k2 = ka * ka;
        return k2 == 0 && gamma == 0 ? 1 : k2 / (k2 + (3 * gamma));
    }

    /// <summary>The PY compressibility limit S(0) = (1 − η)⁴ / (1 + 2η)².</summary>
    public static double HardSphereCompressibilityLimit(double eta) => Math.Pow(1 - eta, 4) / Math.Pow(1 + (2 * eta), 2);

    // ρ ĉ(q) = 24η ∫₀¹ c(x) x² sin(qx)/(qx) dx.
    private static double DirectCorrelation(double q, double eta)
    {
        double d4 = Math.Pow(1 - eta, 4);
        double alpha = (1 + (2 * eta)) * (1 + (2 * eta)) / d4;
        double beta = -6 * eta * (1 + (eta / 2)) * (1 + (eta / 2)) / d4;
        double gamma = eta * alpha / 2;
        if (q < 1)
        {
            // Σ_n (−q²)^n / (2n+1)! [α/(2n+3) + β/(2n+4) + γ/(2n+6)]; 12 terms reach 1e-17 at q = 1.
            double sum = 0, term = 1;
            for (int n = 0; n < 12; n++)
            {
                sum += term * ((alpha / ((2 * n) + 3)) + (beta / ((2 * n) + 4)) + (gamma / ((2 * n) + 6)));
                term *= -q * q / (((2 * n) + 2) * ((2 * n) + 3));
            }

            return -24 * eta * sum;
        }

        double s = Math.Sin(q), c = Math.Cos(q), q2 = q * q;
        double bracket = (alpha * q2 * q * (s - (q * c)))
            + (beta * q2 * ((2 * q * s) - ((q2 - 2) * c) - 2))
            + (gamma * (((4 * q2 * q) - (24 * q)) * s - (((q2 * q2) - (12 * q2) + 24) * c) + 24));
        return -24 * eta * bracket / (q2 * q2 * q2);
    }
}
