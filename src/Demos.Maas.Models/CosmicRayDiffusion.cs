namespace Demos.Maas.Models;

/// <summary>
/// Steady-state density of cosmic-ray electrons around a continuous point source, with
/// energy-dependent diffusion and synchrotron/inverse-Compton losses: the Green's-function solution
/// of the diffusion-loss equation.
/// </summary>
/// <remarks>
/// <para>The equation ∂n/∂t = D(E) ∇²n + ∂(b(E) n)/∂E + Q(E) δ(r) with D = D₀ (E / GeV)^δ,
/// b = b₀ E² and Q = Q₀ (E / GeV)^−γ has the steady solution (S. I. Syrovatskii, Sov. Astron. 3
/// (1959) 22; A. M. Atoyan, F. A. Aharonian and H. J. Völk, Phys. Rev. D 52 (1995) 3265)
/// n(E, r) = (1 / b(E)) ∫_E^∞ Q(E₀) (4πλ)^(−3/2) exp(−r² / 4λ) dE₀, with
/// λ(E, E₀) = ∫_E^E₀ D/b dE′ = D₀ (E^(δ−1) − E₀^(δ−1)) / (b₀ (1 − δ)), the squared diffusion
/// length of a particle cooling from E₀ to E. The integral is taken by Simpson's rule in two parts:
/// in ln λ (400 intervals) from where exp(−r²/4λ) &lt; e^−200 to λ(E, ∞)/2, and in ln(λ(E, ∞) − λ)
/// above (800 intervals over 40 e-folds), where the integrand has a fractional power at the top.</para>
/// <para>Closed-form limits the tests check: the volume integral ∫ n d³r = Q₀ E^(1−γ) / ((γ − 1) b₀ E²)
/// (the loss-steepened spectrum, index γ + 1); and without losses (b₀ → 0)
/// n → Q(E) / (4π D(E) r).</para>
/// <para>Units: E in GeV, r in kpc, time in Myr; D₀ in kpc²/Myr, b₀ in 1/(GeV Myr), Q₀ = 1 per
/// (GeV Myr), so n is in 1/(GeV kpc³).</para>
/// </remarks>
public static class CosmicRayDiffusion
{
    /// <summary>Defaults of γ, D₀ [kpc²/Myr] (3 × 10²⁸ cm²/s), δ, b₀ [1/(GeV Myr)] (10⁻¹⁶ /(GeV s): a few μG and the CMB).</summary>
    public static IReadOnlyList<double> Defaults { get; } = [2.2, 0.1, 0.5, 3e-3];

    private const int LowerIntervals = 400, UpperIntervals = 800, UpperEfolds = 40;

    /// <summary>n(E, r) for one energy and distance; theta = (γ, D₀, δ, b₀, ...).</summary>
    public static double Density(double energy, double radius, ReadOnlySpan<double> theta)
    {
        double gamma = theta[0], d0 = theta[1], delta = theta[2], b0 = theta[3];
        if (!(energy > 0) || !(radius > 0))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"energy and distance must be positive; got E = {energy} GeV, r = {radius} kpc.");
        }

        if (!(delta < 1) || !(b0 > 0) || !(d0 > 0) || !(gamma > 1))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, "need delta < 1, b0 > 0, D0 > 0, gamma > 1.");
        }

        double k = d0 / (b0 * (1 - delta));
        double lambdaMax = k * Math.Pow(energy, delta - 1);
        double r2 = radius * radius;
        double yLow = Math.Log(r2 / 800), yMid = Math.Log(lambdaMax / 2);
        if (yLow >= yMid)
        {
            return 0; // particles that reach r have cooled below E long before: weight e^−200 and smaller
        }

        // Q b / D at E₀ is (b₀/D₀) E₀^(2−γ−δ), and E₀ = (K / (λ_max − λ))^(1/(1−δ)): one power of
        // (λ_max − λ), which the upper part gets without cancellation.
        double power = (gamma + delta - 2) / (1 - delta);
        double scale = b0 / d0 * Math.Pow(k, -power) * Math.Pow(4 * Math.PI, -1.5);

        // Lower part, λ from r²/800 to λ_max/2, in y = ln λ (dλ = λ dy).
        double h = (yMid - yLow) / LowerIntervals, lower = 0;
        for (int i = 0; i <= LowerIntervals; i++)
        {
            double y = yLow + (i * h), lambda = Math.Exp(y);
            double value = Math.Pow(lambdaMax - lambda, power) * Math.Exp((-0.5 * y) - (r2 / (4 * lambda)));
            lower += SimpsonWeight(i, LowerIntervals) * value;
        }

        // Upper part, λ from λ_max/2 to λ_max, in v = ln(λ_max − λ) (dλ = (λ_max − λ) dv); the integrand
        // falls like (λ_max − λ)^(power + 1) towards the top (power + 1 ≥ 1/2 within the parameter bounds), so
        // 40 e-folds leave out at most e^−20 of it, and e^−96 at the defaults.
        double vHigh = Math.Log(lambdaMax / 2), vLow = vHigh - UpperEfolds, g = (vHigh - vLow) / UpperIntervals, upper = 0;
        for (int i = 0; i <= UpperIntervals; i++)
        {
            double v = vLow + (i * g), gap = Math.Exp(v), lambda = lambdaMax - gap;
            double value = Math.Exp(((power + 1) * v) - (1.5 * Math.Log(lambda)) - (r2 / (4 * lambda)));
            upper += SimpsonWeight(i, UpperIntervals) * value;
        }

        return scale * ((lower * h) + (upper * g)) / 3 / (b0 * energy * energy);
    }

    private static double SimpsonWeight(int i, int intervals) => i == 0 || i == intervals ? 1 : i % 2 == 1 ? 4 : 2;

    /// <summary>The volume integral ∫ n d³r = Q₀ E^(1−γ) / ((γ − 1) b₀ E²).</summary>
    public static double VolumeIntegral(double energy, ReadOnlySpan<double> theta) =>
        Math.Pow(energy, 1 - theta[0]) / ((theta[0] - 1) * theta[3] * energy * energy);
}
