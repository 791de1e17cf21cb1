namespace Demos.Maas.Models;

/// <summary>
/// A forward model with a gradient: the activity of a radioactive source, y_k = A exp(-lambda t_k) + b,
/// at fixed times t_k = 0, 1, ..., K-1. Input x = (A, lambda); parameter theta = (b) the background.
/// Has Evaluate with exact vector-Jacobian and Jacobian-vector products, and a dataset of
/// measurements.
/// </summary>
public static class DecayModel
{
    /// <summary>Uuid of the model ("decay").</summary>
    public static readonly Guid Uuid = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a02");

    /// <summary>Number of time points.</summary>
    public const int Times = 8;

    /// <summary>Builds the model.</summary>
    public static IModel Create()
    {
        var measured = DoubleMatrix.Rent(Times, 2);
        for (int k = 0; k < Times; k++)
        {
            measured[k, 0] = k;
            measured[k, 1] = Activity(100, 0.3, 5, k);
        }

        return ModelBuilder.Create("decay")
            .WithUuid(Uuid)
            .WithVersion("1.0.0")
            .WithDescription($"Radioactive decay y_k = A exp(-lambda t_k) + b at t_k = 0..{Times - 1}; x = (A, lambda), theta = (b).")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(2)
            .WithScalarParameter("background", 5.0, lower: 0, description: "constant background rate b")
            .WithEvaluate(Times, Evaluate)
            .WithVjp(Vjp)
            .WithJvp(Jvp)
            .WithDataset("measurements", measured, "(t, activity) at A = 100, lambda = 0.3, b = 5")
            .Build();
    }

    /// <summary>y(t) for one time; the reference the tests compare against.</summary>
    public static double Activity(double amplitude, double lambda, double background, double t) =>
        (amplitude * Math.Exp(-lambda * t)) + background;

    private static void Evaluate(ModelArgs a, Span<double> result)
    {
        double b = a.Theta[0];
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            for (int k = 0; k < Times; k++)
            {
                result[(i * Times) + k] = Activity(x[0], x[1], b, k);
            }
        }
    }

    // v^T J with J[k] = (exp(-lambda t_k), -A t_k exp(-lambda t_k)).
    private static void Vjp(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            var v = a.Vector.Slice(i * Times, Times);
            double dA = 0, dLambda = 0;
            for (int k = 0; k < Times; k++)
            {
                double e = Math.Exp(-x[1] * k);
                dA += v[k] * e;
                dLambda += v[k] * (-x[0] * k * e);
            }

            result[2 * i] = dA;
            result[(2 * i) + 1] = dLambda;
        }
    }

    private static void Jvp(ModelArgs a, Span<double> result)
    {
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            var v = a.Vector.Slice(i * 2, 2);
            for (int k = 0; k < Times; k++)
            {
                double e = Math.Exp(-x[1] * k);
                result[(i * Times) + k] = (v[0] * e) + (v[1] * (-x[0] * k * e));
            }
        }
    }
}
