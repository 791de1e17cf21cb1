namespace Demos.Maas.Cli.Tests;

/// <summary>A model class that `maas serve --assembly` finds in this test assembly.</summary>
public sealed class TestAssemblyModel : ModelBase
{
    public override ModelInfo Info { get; } = new()
    {
        Name = "from-assembly",
        Uuid = new Guid("7d0c1b4e-1111-4a2b-9c3d-000000000042"),
        InputDimension = 1,
        Capabilities = ModelCapabilities.LogDensity,
    };

    public override ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        var y = DoubleMatrix.Rent(x.Rows, 1);
        for (int i = 0; i < x.Rows; i++)
        {
            y[i, 0] = 3 * x[i, 0];
        }

        return ValueTask.FromResult(y);
    }
}
