namespace Demos.Maas.Models;

/// <summary>
/// The model "nuclear-force": the Malfliet–Tjon MT-III potential. Evaluate maps x = (k, k′) in
/// fm⁻¹ to the S-wave matrix element V₀(k, k′) in MeV fm³, with exact vector-Jacobian and
/// Jacobian-vector products; the dataset "deuteron" holds (r [fm], u(r)) of the bound state at the
/// default parameters. Physics and the published binding energy it reproduces:
/// <see cref="MalflietTjonPotential"/>. The same model is written in C++ in
/// <c>deploy/domain-models/nuclear_force.cpp</c>.
/// </summary>
public static class NuclearForceModel
{
    /// <summary>Name the model is served under.</summary>
    public const string Name = "nuclear-force";

    /// <summary>Uuid of the model.</summary>
    public static readonly Guid Uuid = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a13");

    /// <summary>Rows of the "deuteron" dataset (r = 0, 0.05, ..., 15 fm).</summary>
    public const int WaveRows = 301;

    /// <summary>Builds the model.</summary>
    public static IModel Create()
    {
        var d = MalflietTjonPotential.Defaults;
        double[] theta = [.. d];
        var u = new double[WaveRows];
        double binding = MalflietTjonPotential.SolveDeuteron(theta, u);
        var wave = DoubleMatrix.Rent(WaveRows, 2);
        for (int i = 0; i < WaveRows; i++)
        {
            wave[i, 0] = i * 0.05;
            wave[i, 1] = u[i];
        }

        return ModelBuilder.Create(Name)
            .WithUuid(Uuid)
            .WithVersion("1.0.0")
            .WithDescription("Malfliet-Tjon MT-III NN potential: x = (k, k') [1/fm], output the S-wave matrix element V0(k, k') [MeV fm^3]; dataset 'deuteron' = (r [fm], u(r)).")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(2)
            .WithScalarParameter("VR", d[0], 0, 1e5, "repulsive strength [MeV fm]")
            .WithScalarParameter("muR", d[1], 1e-3, 100, "repulsive range parameter [1/fm]")
            .WithScalarParameter("VA", d[2], 0, 1e5, "attractive strength [MeV fm]")
            .WithScalarParameter("muA", d[3], 1e-3, 100, "attractive range parameter [1/fm]")
            .WithEvaluate(1, Evaluate)
            .WithVjp(Vjp)
            .WithJvp(Jvp)
            .WithDataset("deuteron", wave, $"deuteron S-wave u(r), normalised on [0, 15] fm; binding energy {binding:F4} MeV")
            .Build();
    }

    private static void Evaluate(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            result[i] = MalflietTjonPotential.SWaveMatrixElement(x[0], x[1], a.Theta);
        }
    }

    private static void Vjp(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            var (dk, dkp) = MalflietTjonPotential.SWaveMatrixElementGradient(x[0], x[1], a.Theta);
            result[2 * i] = a.Vector[i] * dk;
            result[(2 * i) + 1] = a.Vector[i] * dkp;
        }
    }

    private static void Jvp(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            var (dk, dkp) = MalflietTjonPotential.SWaveMatrixElementGradient(x[0], x[1], a.Theta);
            result[i] = (dk * a.Vector[2 * i]) + (dkp * a.Vector[(2 * i) + 1]);
        }
    }
}
