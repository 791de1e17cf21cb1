using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Models.Tests;

/// <summary>The batched 1-D log-density (several points per instruction) against the one-point reference, for any batch length and parameters.</summary>
public sealed class GaussianModelPropertyTests
{
    // Lengths around whole vectors (and none), points and parameters from a seed.
    private static readonly Arbitrary<(int Rows, int Seed)> Cases =
        Gen.Choose(0, 70).SelectMany(rows => Gen.Choose(0, int.MaxValue).Select(seed => (rows, seed))).ToArbitrary();

    [Property(MaxTest = 200)]
    public Property Every_point_of_a_batch_has_the_density_of_the_one_point_formula() =>
        Prop.ForAll(Cases, c =>
        {
            var random = new Random(c.Seed);
            double mu = (random.NextDouble() - 0.5) * 20, sigma = 0.01 + (random.NextDouble() * 10);
            var model = GaussianModel.Create(1);
            model.UpdateParametersAsync(ParameterUpdate.Of("mu", mu)).AsTask().GetAwaiter().GetResult();
            model.UpdateParametersAsync(ParameterUpdate.Of("sigma", sigma)).AsTask().GetAwaiter().GetResult();
            double[] points = [.. Enumerable.Range(0, c.Rows).Select(_ => (random.NextDouble() - 0.5) * 100)];
            using var x = DoubleMatrix.FromColumn(points);
            using var y = model.LogDensityAsync(x).AsTask().GetAwaiter().GetResult();
            for (int i = 0; i < c.Rows; i++)
            {
                double expected = GaussianModel.LogDensityOf([points[i]], [mu], [sigma]);
                if (Math.Abs(y[i, 0] - expected) > 1e-12 * Math.Max(1, Math.Abs(expected)))
                {
                    return false;
                }
            }

            return y.Rows == c.Rows;
        });
}
