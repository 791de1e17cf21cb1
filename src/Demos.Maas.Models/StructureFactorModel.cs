namespace Demos.Maas.Models;

/// <summary>
/// The model "structure-factor": Evaluate maps x = (k) to two values, S(kσ) of hard spheres in the
/// Percus–Yevick approximation at packing fraction η and S(ka) of the one-component plasma in the
/// Debye–Hückel limit at coupling Γ (k in units of 1/σ and 1/a respectively). Physics and checks:
/// <see cref="StructureFactors"/>. The same model is written in Fortran in
/// <c>deploy/domain-models/structure_factor.f90</c>.
/// </summary>
public static class StructureFactorModel
{
    /// <summary>Name the model is served under.</summary>
    public const string Name = "structure-factor";

    /// <summary>Uuid of the model.</summary>
    public static readonly Guid Uuid = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a15");

    /// <summary>Builds the model.</summary>
    public static IModel Create() =>
        ModelBuilder.Create(Name)
            .WithUuid(Uuid)
            .WithVersion("1.0.0")
            .WithDescription("Static structure factors: hard spheres (Percus-Yevick, Wertheim's solution) and the one-component plasma (Debye-Hueckel); x = (k), output (S_hs(k sigma), S_ocp(k a)).")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(1)
            .WithScalarParameter("eta", 0.3, 0, 0.7, "hard-sphere packing fraction pi n sigma^3 / 6")
            .WithScalarParameter("gamma", 1.0, 0, 1000, "plasma coupling e^2 / (a k_B T)")
            .WithEvaluate(2, Evaluate)
            .Build();

    private static void Evaluate(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            double k = a.X[i];
            result[2 * i] = StructureFactors.HardSpherePercusYevick(k, a.Theta[0]);
            result[(2 * i) + 1] = StructureFactors.OneComponentPlasmaDebyeHuckel(k, a.Theta[1]);
        }
    }
}
