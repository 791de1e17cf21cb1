namespace Demos.Maas.Models;

/// <summary>
/// A random-walk Metropolis fit of some of a model's parameters to a dataset, through
/// <see cref="IModel.LogDensityAsync"/> with explicit theta: the same code fits a model in this
/// process or one served anywhere else (the C# twin of bindings/python/examples/fit_neutrino.py).
/// </summary>
/// <remarks>
/// The posterior is the model's log-density of <c>data</c> (all rows summed) with flat priors inside
/// the parameters' bounds; each step costs one call, whatever the number of rows. Proposals are
/// Gaussian with a fixed step per free parameter (N. Metropolis et al., J. Chem. Phys. 21 (1953)
/// 1087); draws come from <see cref="SeededRandom"/>, so a seed reproduces a chain exactly.
/// </remarks>
public static class MetropolisFit
{
    /// <summary>Runs <paramref name="length"/> steps from the model's current parameters and keeps the last three quarters.</summary>
    /// <param name="model">Any model with LogDensity and parameters, local or remote.</param>
    /// <param name="data">The observations, one per row.</param>
    /// <param name="steps">The free parameters (scalars) and the standard deviation of their proposals.</param>
    /// <param name="length">Steps of the chain; the first quarter is burn-in.</param>
    /// <param name="seed">Seed of the chain.</param>
    /// <param name="cancellationToken">Stops the chain between steps.</param>
    public static async Task<MetropolisChain> RunAsync(IModel model, DoubleMatrix data, IReadOnlyDictionary<string, double> steps, int length, ulong seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 4);

        // Flat indices of the free parameters in theta, and their bounds.
        var names = steps.Keys.ToArray();
        var index = new int[names.Length];
        var lower = new double[names.Length];
        var upper = new double[names.Length];
        var current = await model.GetParametersAsync(cancellationToken).ConfigureAwait(false);
        var theta = new List<double>();
        foreach (var p in model.Info.Parameters)
        {
            int at = Array.IndexOf(names, p.Name);
            if (at >= 0)
            {
                if (p.Size != 1) { throw new ArgumentException($"'{p.Name}' is not a scalar parameter.", nameof(steps)); }
                index[at] = theta.Count;
                lower[at] = p.Lower?[0] ?? double.NegativeInfinity;
                upper[at] = p.Upper?[0] ?? double.PositiveInfinity;
            }

            theta.AddRange(current[p.Name]);
        }

        foreach (var n in names)
        {
            if (!model.Info.Parameters.Any(p => p.Name == n)) { throw new ArgumentException($"The model has no parameter '{n}'.", nameof(steps)); }
        }

        var random = new SeededRandom(seed);
        double[] point = [.. theta], proposal = [.. theta];
        double logPosterior = await LogPosteriorAsync(model, data, point, cancellationToken).ConfigureAwait(false);
        int burnIn = length / 4, accepted = 0;
        var draws = new double[length - burnIn, names.Length];
        for (int step = 0; step < length; step++)
        {
            point.CopyTo(proposal, 0);
            bool inside = true;
            for (int k = 0; k < names.Length; k++)
            {
                proposal[index[k]] += steps[names[k]] * GaussianModel.StandardNormal(random);
                inside &= proposal[index[k]] > lower[k] && proposal[index[k]] < upper[k];
            }

            double candidate = inside ? await LogPosteriorAsync(model, data, proposal, cancellationToken).ConfigureAwait(false) : double.NegativeInfinity;
            if (Math.Log(1 - random.NextDouble()) < candidate - logPosterior)
            {
                (point, proposal) = (proposal, point);
                logPosterior = candidate;
                accepted++;
            }

            if (step >= burnIn)
            {
                for (int k = 0; k < names.Length; k++) { draws[step - burnIn, k] = point[index[k]]; }
            }
        }

        return new MetropolisChain(names, draws, (double)accepted / length);
    }

    private static async Task<double> LogPosteriorAsync(IModel model, DoubleMatrix data, double[] theta, CancellationToken cancellationToken)
    {
        using var logp = await model.LogDensityAsync(data, theta, cancellationToken).ConfigureAwait(false);
        double sum = 0;
        foreach (double v in logp.Span) { sum += v; }
        return sum;
    }
}
