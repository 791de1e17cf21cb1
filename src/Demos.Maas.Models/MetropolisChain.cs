namespace Demos.Maas.Models;

/// <summary>The result of <see cref="MetropolisFit.RunAsync"/>: the kept draws of the free parameters and the acceptance rate.</summary>
/// <param name="Names">Names of the free parameters, the columns of <paramref name="Draws"/>.</param>
/// <param name="Draws">One row per kept step (after burn-in), one column per free parameter.</param>
/// <param name="Acceptance">Fraction of proposals accepted.</param>
public sealed record MetropolisChain(IReadOnlyList<string> Names, double[,] Draws, double Acceptance)
{
    /// <summary>The <paramref name="quantile"/> (0..1) of free parameter <paramref name="name"/> over the draws.</summary>
    public double Quantile(string name, double quantile)
    {
        int column = Names.ToList().IndexOf(name);
        if (column < 0)
        {
            throw new ArgumentException($"'{name}' is not a free parameter of the chain.", nameof(name));
        }

        var values = Enumerable.Range(0, Draws.GetLength(0)).Select(i => Draws[i, column]).Order().ToArray();
        return values[(int)Math.Clamp(Math.Round(quantile * (values.Length - 1)), 0, values.Length - 1)];
    }
}
