using System.Numerics;
using System.Runtime.InteropServices;

namespace Demos.Maas.Models;

/// <summary>
/// A d-dimensional normal distribution with diagonal covariance: parameters mu (d) and sigma (d).
/// Has every density capability (log-density, sampling, gradients in x and theta), parameters and a
/// dataset of draws, so it exercises the whole protocol.
/// </summary>
public static class GaussianModel
{
    /// <summary>Uuid of the 1-D instance ("gaussian1d").</summary>
    public static readonly Guid Uuid1D = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a01");

    private static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>Builds the model.</summary>
    public static IModel Create(int dimension = 2, string? name = null, Guid? uuid = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        double[] mu = new double[dimension];
        double[] sigma = Enumerable.Repeat(1.0, dimension).ToArray();
        var builder = ModelBuilder.Create(name ?? $"gaussian{dimension}d")
            .WithUuid(uuid ?? (dimension == 1 ? Uuid1D : ModelBuilder.NameBasedUuid($"gaussian{dimension}d")))
            .WithVersion("1.0.0")
            .WithDescription($"{dimension}-dimensional normal distribution with diagonal covariance.")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(dimension)
            .WithParameter("mu", mu, description: "mean")
            .WithParameter("sigma", sigma, lower: Enumerable.Repeat(1e-300, dimension).ToArray(), description: "standard deviations")
            .WithLogDensity(LogDensity)
            .WithLogDensityGradient(GradientX)
            .WithLogDensityThetaGradient(GradientTheta)
            .WithSampler(Sample);
        var data = DoubleMatrix.Rent(1000, dimension);
        var rng = new SeededRandom(20261125);
        for (int i = 0; i < data.Length; i++)
        {
            data.Span[i] = StandardNormal(rng);
        }

        return builder.WithDataset("draws", data, "1000 draws at the default parameters (seed 20261125)").Build();
    }

    /// <summary>log N(x | mu, diag(sigma^2)) for one point; the reference the tests compare against.</summary>
    public static double LogDensityOf(ReadOnlySpan<double> x, ReadOnlySpan<double> mu, ReadOnlySpan<double> sigma)
    {
        double sum = 0;
        for (int j = 0; j < x.Length; j++)
        {
            double z = (x[j] - mu[j]) / sigma[j];
            sum += (-0.5 * z * z) - Math.Log(sigma[j]) - HalfLog2Pi;
        }

        return sum;
    }

    /// <summary>A standard normal draw (Box–Muller, one of the pair).</summary>
    public static double StandardNormal(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    // The normalisation and 1/sigma are per call, not per point: a batch costs one log per dimension.
    private static void LogDensity(ModelArgs a, Span<double> result)
    {
        int d = a.Columns;
        var mu = a.Theta[..d];
        var sigma = a.Theta[d..];
        Span<double> inverse = d <= 64 ? stackalloc double[d] : new double[d];
        double norm = 0;
        for (int j = 0; j < d; j++)
        {
            inverse[j] = 1.0 / sigma[j];
            norm -= Math.Log(sigma[j]) + HalfLog2Pi;
        }

        // Locals, not the ModelArgs properties, in the loops: the JIT keeps them in registers.
        var points = a.X;
        int rows = a.Rows;
        if (d == 1)
        {
            LogDensity1D(points[..rows], mu[0], inverse[0], norm, result[..rows]);
            return;
        }

        for (int i = 0; i < rows; i++)
        {
            var x = points.Slice(i * d, d);
            double sum = 0;
            for (int j = 0; j < d; j++)
            {
                double z = (x[j] - mu[j]) * inverse[j];
                sum += z * z;
            }

            result[i] = norm - (0.5 * sum);
        }
    }

    // One dimension is the common case of a batch of scalars: several points per instruction. The
    // points are read and written as spans of vectors: slicing a span for every vector cost more
    // than the arithmetic (benchmarks/Demos.Maas.GaussianLoop times both).
    private static void LogDensity1D(ReadOnlySpan<double> x, double mu, double inverse, double norm, Span<double> result)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vmu = new Vector<double>(mu);
            var vinverse = new Vector<double>(inverse);
            var vnorm = new Vector<double>(norm);
            var half = new Vector<double>(0.5);
            var points = MemoryMarshal.Cast<double, Vector<double>>(x);
            var densities = MemoryMarshal.Cast<double, Vector<double>>(result)[..points.Length];
            for (int k = 0; k < points.Length; k++)
            {
                var z = (points[k] - vmu) * vinverse;
                densities[k] = vnorm - (half * z * z);
            }

            i = points.Length * Vector<double>.Count;
        }

        for (; i < x.Length; i++)
        {
            double z = (x[i] - mu) * inverse;
            result[i] = norm - (0.5 * z * z);
        }
    }

    private static void GradientX(ModelArgs a, Span<double> result)
    {
        int d = a.Columns;
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            for (int j = 0; j < d; j++)
            {
                double s = a.Theta[d + j];
                result[(i * d) + j] = -(x[j] - a.Theta[j]) / (s * s);
            }
        }
    }

    private static void GradientTheta(ModelArgs a, Span<double> result)
    {
        int d = a.Columns;
        for (int i = 0; i < a.Rows; i++)
        {
            var x = a.Point(i);
            var row = result.Slice(i * 2 * d, 2 * d);
            for (int j = 0; j < d; j++)
            {
                double s = a.Theta[d + j];
                double r = x[j] - a.Theta[j];
                row[j] = r / (s * s);
                row[d + j] = (r * r / (s * s * s)) - (1.0 / s);
            }
        }
    }

    private static void Sample(SamplerArgs a, Span<double> result)
    {
        int d = a.Columns;
        for (int i = 0; i < a.Rows; i++)
        {
            for (int j = 0; j < d; j++)
            {
                result[(i * d) + j] = a.Theta[j] + (a.Theta[d + j] * StandardNormal(a.Random));
            }
        }
    }
}
