namespace Demos.Maas.Models;

/// <summary>
/// The arrival-energy spectrum of <see cref="CosmicRayModel"/> tabulated on a grid in ln E: its
/// normalisation (Simpson's rule) and a piecewise-constant envelope for exact accept–reject draws.
/// </summary>
public sealed class ArrivalSpectrumTable
{
    /// <summary>Intervals of the grid (even, for Simpson's rule).</summary>
    public const int Intervals = 200;

    // The envelope is the larger end value times this margin, which covers the curvature of n within
    // one interval (Δ ln E ≈ 0.05) many times over.
    private const double EnvelopeMargin = 1.1;

    private readonly double[] _energies = new double[Intervals + 1];
    private readonly double[] _heights = new double[Intervals];
    private readonly double[] _cumulative = new double[Intervals];
    private readonly double[] _theta;

    /// <summary>Tabulates n(E, r_obs) for theta = (γ, D₀, δ, b₀, r_obs, E_min, E_max).</summary>
    public ArrivalSpectrumTable(ReadOnlySpan<double> theta)
    {
        double low = theta[CosmicRayModel.MinimumIndex], high = theta[CosmicRayModel.MaximumIndex];
        if (!(low > 0) || !(high > low))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"need 0 < E_min < E_max; got {low}, {high}.");
        }

        _theta = theta.ToArray();
        double step = Math.Log(high / low) / Intervals, simpson = 0;
        var density = new double[Intervals + 1];
        for (int i = 0; i <= Intervals; i++)
        {
            _energies[i] = i == Intervals ? high : low * Math.Exp(i * step);
            density[i] = CosmicRayDiffusion.Density(_energies[i], theta[CosmicRayModel.ObserverIndex], theta);
            simpson += (i == 0 || i == Intervals ? 1 : i % 2 == 1 ? 4 : 2) * density[i] * _energies[i];
        }

        Normalisation = simpson * step / 3;
        if (!(Normalisation > 0))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, "no particle arrives in [E_min, E_max] at this distance.");
        }

        double total = 0;
        for (int i = 0; i < Intervals; i++)
        {
            _heights[i] = EnvelopeMargin * Math.Max(density[i], density[i + 1]);
            total += _heights[i] * (_energies[i + 1] - _energies[i]);
            _cumulative[i] = total;
        }
    }

    /// <summary>The parameters the table was made for.</summary>
    public IReadOnlyList<double> Theta => _theta;

    /// <summary>True when the table was made for exactly these parameters.</summary>
    public bool IsFor(ReadOnlySpan<double> theta) => theta.SequenceEqual(_theta);

    /// <summary>∫ n(E, r_obs) dE over [E_min, E_max].</summary>
    public double Normalisation { get; }

    /// <summary>One exact draw of the normalised n(E, r_obs): propose from the envelope, accept with n / envelope.</summary>
    public double Draw(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        while (true)
        {
            double target = random.NextDouble() * _cumulative[^1];
            int i = Array.BinarySearch(_cumulative, target);
            i = i < 0 ? Math.Min(~i, Intervals - 1) : i;
            double e = _energies[i] + ((_energies[i + 1] - _energies[i]) * random.NextDouble());
            double n = CosmicRayDiffusion.Density(e, _theta[CosmicRayModel.ObserverIndex], _theta);
            if (n > _heights[i])
            {
                throw new MaasException(MaasErrorCode.ModelError, $"envelope too low at E = {e} GeV; refine the table.");
            }

            if (random.NextDouble() * _heights[i] < n)
            {
                return e;
            }
        }
    }
}
