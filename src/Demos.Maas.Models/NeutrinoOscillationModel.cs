namespace Demos.Maas.Models;

/// <summary>
/// The model "neutrino-oscillation": Evaluate maps x = (E in GeV, L in km) to the nine
/// probabilities P(α → β), α, β ∈ {e, μ, τ}, row-major (P(e→e), P(e→μ), P(e→τ), P(μ→e), ...), for
/// neutrinos in vacuum or matter of constant density. Physics and its reference checks:
/// <see cref="NeutrinoOscillations"/>.
/// </summary>
public static class NeutrinoOscillationModel
{
    /// <summary>Name the model is served under.</summary>
    public const string Name = "neutrino-oscillation";

    /// <summary>Uuid of the model.</summary>
    public static readonly Guid Uuid = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a11");

    /// <summary>Builds the model.</summary>
    public static IModel Create() =>
        AddParameters(ModelBuilder.Create(Name))
            .WithUuid(Uuid)
            .WithVersion("1.0.0")
            .WithDescription("Three-flavour neutrino oscillation probabilities in vacuum or constant-density matter; x = (E [GeV], L [km]), output P(alpha -> beta) row-major over e, mu, tau.")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(2)
            .WithEvaluate(9, Evaluate)
            .Build();

    /// <summary>Adds the seven oscillation parameters with their defaults and physical bounds.</summary>
    public static ModelBuilder AddParameters(ModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var d = NeutrinoOscillations.Defaults;
        return builder
            .WithScalarParameter("theta12", d[0], 0, Math.PI / 2, "solar mixing angle [rad]")
            .WithScalarParameter("theta13", d[1], 0, Math.PI / 2, "reactor mixing angle [rad]")
            .WithScalarParameter("theta23", d[2], 0, Math.PI / 2, "atmospheric mixing angle [rad]")
            .WithScalarParameter("deltaCP", d[3], 0, 2 * Math.PI, "Dirac CP phase [rad]")
            .WithScalarParameter("dm21", d[4], 0, 1, "mass splitting m2^2 - m1^2 [eV^2]")
            .WithScalarParameter("dm31", d[5], -1, 1, "mass splitting m3^2 - m1^2 [eV^2] (negative: inverted ordering)")
            .WithScalarParameter("rho", d[6], 0, 20, "matter density [g/cm^3] (0: vacuum), electron fraction 1/2");
    }

    private static void Evaluate(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            NeutrinoOscillations.Probabilities(a.Theta, x[0], x[1], result.Slice(9 * i, 9), default);
        }
    }
}
