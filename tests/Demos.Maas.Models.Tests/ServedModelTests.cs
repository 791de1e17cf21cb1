using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Transports.Http;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Models.Tests;

/// <summary>
/// Every physics model served over a Unix socket, TCP and HTTP gives what the same code gives in process:
/// the protocol carries float64 bit for bit, so the tolerance of 1e-12 relative is generous.
/// </summary>
public sealed class ServedModelTests
{
    public static TheoryData<string, string> ModelsAndTransports()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in ExampleModels.DomainNames)
        {
            data.Add(name, "pipe");
            data.Add(name, "tcp");
            data.Add(name, "http");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModelsAndTransports))]
    public async Task A_served_model_answers_like_the_model_in_process(string name, string transport)
    {
        var local = ExampleModels.Create(name);
        await using var server = new MaasServer(transports: [new PipeTransport(), new TcpTransport(), new HttpTransport()]);
        server.AddModel(ExampleModels.Create(name));
        string socket = Path.Combine(Path.GetTempPath(), $"maas-models-{Guid.NewGuid():N}.sock");
        var bound = await server.ListenAsync(transport == "pipe" ? $"pipe://{socket}" : $"{transport}://127.0.0.1:0");
        var options = new MaasClientOptions();
        options.Transports.Add(new PipeTransport());
        options.Transports.Add(new TcpTransport());
        options.Transports.Add(new HttpTransport());
        await using var client = await MaasClient.ConnectAsync(bound.ToString()!, options);
        var remote = await client.GetModelAsync(name);
        Assert.Equal(local.Info.Uuid, remote.Info.Uuid);
        Assert.Equal(local.Info.Capabilities, remote.Info.Capabilities);

        using var x = Inputs(name);
        if (local.Info.Capabilities.HasFlag(ModelCapabilities.Evaluate))
        {
            using var expected = await local.EvaluateAsync(x);
            using var actual = await remote.EvaluateAsync(x);
            AssertClose(expected, actual);
        }

        if (local.Info.Capabilities.HasFlag(ModelCapabilities.LogDensity))
        {
            using var expected = await local.LogDensityAsync(x);
            using var actual = await remote.LogDensityAsync(x);
            AssertClose(expected, actual);
        }

        foreach (var kind in new[] { GradientKind.LogDensityWrtX, GradientKind.LogDensityWrtTheta })
        {
            if (local.Info.Capabilities.HasFlag(kind == GradientKind.LogDensityWrtX ? ModelCapabilities.GradientX : ModelCapabilities.GradientTheta))
            {
                using var expected = await local.GradientAsync(kind, x);
                using var actual = await remote.GradientAsync(kind, x);
                AssertClose(expected, actual);
            }
        }

        if (local.Info.Capabilities.HasFlag(ModelCapabilities.Sample))
        {
            using var expected = await local.SampleMatrixAsync(500, seed: 3);
            using var actual = await remote.SampleMatrixAsync(500, seed: 3);
            AssertClose(expected, actual);
        }

        foreach (var dataset in await local.ListDatasetsAsync())
        {
            using var expected = await local.ReadDatasetMatrixAsync(dataset.Name);
            using var actual = await remote.ReadDatasetMatrixAsync(dataset.Name);
            AssertClose(expected, actual);
        }
    }

    [Fact]
    public void Every_physics_model_is_a_built_in_name_and_the_default_set_is_unchanged()
    {
        Assert.Equal(["gaussian1d", "gaussian2d", "decay"], ExampleModels.Names);
        Assert.All(ExampleModels.DomainNames, n => Assert.Equal(n, ExampleModels.Create(n).Info.Name));
        Assert.Equal(MaasErrorCode.NotFound, Assert.Throws<MaasException>(() => ExampleModels.Create("nope")).Code);
    }

    // Realistic inputs per model: a spread of points inside each model's domain.
    internal static DoubleMatrix Inputs(string name)
    {
        var rows = new List<double[]>();
        for (int i = 0; i < 64; i++)
        {
            double t = (i + 0.5) / 64;
            rows.Add(name switch
            {
                NeutrinoOscillationModel.Name => [0.2 + (4 * t), 100 + (2000 * t)],
                CosmicRayModel.Name => [Math.Pow(10, 4 * t)],
                NuclearForceModel.Name => [0.05 + (3 * t), 3.05 - (3 * t)],
                ThreePionDecayModel.Name => [0.2 + (0.6 * t), 0.9 - (0.5 * t)],
                StructureFactorModel.Name => [20 * t],
                NeutrinoFitModel.Name => FitCounts(i),
                _ => throw new ArgumentException(name),
            });
        }

        return DoubleMatrix.FromRows([.. rows]);
    }

    private static double[] FitCounts(int i)
    {
        var counts = new double[2 * NeutrinoFitModel.Bins];
        for (int b = 0; b < counts.Length; b++) { counts[b] = ((i * 7) + (b * 13)) % 50; }
        return counts;
    }

    private static void AssertClose(DoubleMatrix expected, DoubleMatrix actual)
    {
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Columns, actual.Columns);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected.Span[i], a = actual.Span[i];
            if (double.IsNegativeInfinity(e)) { Assert.Equal(e, a); continue; }
            NumericChecks.Close(e, a, 1e-12, 1e-300, $"element {i}");
        }
    }
}
