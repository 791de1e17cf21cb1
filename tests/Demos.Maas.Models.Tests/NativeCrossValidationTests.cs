using System.Runtime.InteropServices;
using Demos.Maas.Cli.Tests;
using Demos.Maas.Client;
using Demos.Maas.Transports.Http;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Models.Tests;

/// <summary>
/// The Fortran structure factor and the C++ nuclear force of deploy/domain-models, compiled here,
/// served by <c>maas serve --native</c> and called over a Unix socket, TCP and HTTP: the served results
/// equal the plugin's own (called in this process) to 1e-12 relative, and the plugin's equal the C#
/// model's, so three implementations in three languages agree.
/// </summary>
public sealed class NativeCrossValidationTests
{
    private static readonly Lazy<Task<NativePlugin?>> Fortran = new(() => NativePlugin.BuildAsync("gfortran", "structure_factor.f90", "libstructure_factor.so"));
    private static readonly Lazy<Task<NativePlugin?>> Cpp = new(() => NativePlugin.BuildAsync("g++", "nuclear_force.cpp", "libnuclear_force.so", "-std=c++17"));

    [Theory]
    [InlineData("pipe")]
    [InlineData("tcp")]
    [InlineData("http")]
    public async Task The_fortran_structure_factor_served_equals_the_fortran_and_the_csharp_result(string transport)
    {
        var plugin = await Fortran.Value;
        if (plugin is null) { return; }

        using var x = ServedModelTests.Inputs(StructureFactorModel.Name);
        foreach (double[] theta in new[] { new[] { 0.3, 1.0 }, [0.45, 20.0], [0.05, 0.0] })
        {
            double[] native = plugin.Evaluate(x, theta, 2);
            using var csharp = await StructureFactorModel.Create().EvaluateAsync(x, theta);
            AssertClose(native, csharp.ToArray(), "Fortran vs C#");

            await using var served = await ServeAsync(plugin, transport);
            var model = await served.Client.GetModelAsync(StructureFactorModel.Name);
            using var remote = await model.EvaluateAsync(x, theta);
            AssertClose(native, remote.ToArray(), $"served over {transport} vs Fortran");
        }
    }

    [Theory]
    [InlineData("pipe")]
    [InlineData("tcp")]
    [InlineData("http")]
    public async Task The_cpp_nuclear_force_served_equals_the_cpp_and_the_csharp_result(string transport)
    {
        var plugin = await Cpp.Value;
        if (plugin is null) { return; }

        double[] theta = [.. MalflietTjonPotential.Defaults];
        using var x = ServedModelTests.Inputs(NuclearForceModel.Name);
        using var v = DoubleMatrix.Rent(x.Rows, 1);
        using var direction = DoubleMatrix.Rent(x.Rows, 2);
        for (int i = 0; i < x.Rows; i++) { v[i, 0] = Math.Cos(i); direction[i, 0] = Math.Sin(i); direction[i, 1] = 1 - (0.01 * i); }

        var csharp = NuclearForceModel.Create();
        await using var served = await ServeAsync(plugin, transport);
        var model = await served.Client.GetModelAsync(NuclearForceModel.Name);

        double[] native = plugin.Evaluate(x, theta, 1);
        using (var local = await csharp.EvaluateAsync(x)) { AssertClose(native, local.ToArray(), "C++ vs C# evaluate"); }
        using (var remote = await model.EvaluateAsync(x)) { AssertClose(native, remote.ToArray(), $"served over {transport} vs C++ evaluate"); }

        native = plugin.Product(jvp: false, x, v, theta, 2);
        using (var local = await csharp.GradientAsync(GradientKind.EvaluateVjp, x, v)) { AssertClose(native, local.ToArray(), "C++ vs C# vjp"); }
        using (var remote = await model.GradientAsync(GradientKind.EvaluateVjp, x, v)) { AssertClose(native, remote.ToArray(), $"served over {transport} vs C++ vjp"); }

        native = plugin.Product(jvp: true, x, direction, theta, 1);
        using (var local = await csharp.GradientAsync(GradientKind.EvaluateJvp, x, direction)) { AssertClose(native, local.ToArray(), "C++ vs C# jvp"); }
        using (var remote = await model.GradientAsync(GradientKind.EvaluateJvp, x, direction)) { AssertClose(native, remote.ToArray(), $"served over {transport} vs C++ jvp"); }

        // The deuteron: the same Numerov solution in both languages, to the bisection's 1e-12.
        double binding = BindingFromPlugin(plugin, theta);
        NumericChecks.Close(MalflietTjonPotential.DeuteronBindingEnergy(theta), binding, 1e-10);
        Assert.Equal(MalflietTjonPotential.PublishedDeuteronBindingEnergy, binding, 3);
        using var wave = await model.ReadDatasetMatrixAsync("deuteron");
        using var localWave = await csharp.ReadDatasetMatrixAsync("deuteron");
        Assert.Equal(localWave.Rows, wave.Rows);
        for (int i = 0; i < wave.Length; i++) { Assert.Equal(localWave.Span[i], wave.Span[i], 8); }
    }

    private static unsafe double BindingFromPlugin(NativePlugin plugin, double[] theta)
    {
        var fn = (delegate* unmanaged[Cdecl]<double*, double>)NativeLibrary.GetExport(plugin.Handle, "nuclear_force_deuteron_binding");
        fixed (double* t = theta) { return fn(t); }
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            NumericChecks.Close(expected[i], actual[i], 1e-12, 1e-300, $"{what}, element {i}");
        }
    }

    private static async Task<ServedPlugin> ServeAsync(NativePlugin plugin, string transport)
    {
        string socket = Path.Combine(Path.GetTempPath(), $"maas-native-{Guid.NewGuid():N}.sock");
        string listen = transport == "pipe" ? $"pipe://{socket}" : $"{transport}://127.0.0.1:0";
        var process = MaasProcess.Start("serve", "--native", plugin.Path, "--listen", listen, "--log-level", "Warning");
        string uri = transport + await process.WaitForLineAsync($"listening {transport}");
        var options = new MaasClientOptions();
        options.Transports.Add(new PipeTransport());
        options.Transports.Add(new TcpTransport());
        options.Transports.Add(new HttpTransport());
        return new ServedPlugin(process, await MaasClient.ConnectAsync(uri, options));
    }

    private sealed record ServedPlugin(MaasProcess Process, MaasClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Process.DisposeAsync();
        }
    }
}
