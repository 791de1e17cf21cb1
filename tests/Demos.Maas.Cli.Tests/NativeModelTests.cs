using System.Text.Json;
using Demos.Maas.Client;
using Demos.Maas.Tests;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// `maas serve --native`: the template C model of deploy/native-model, compiled here with the system
/// C compiler against bindings/c/demos_maas.h, served without a main, and called.
/// </summary>
public sealed class NativeModelTests
{
    [Fact]
    public async Task A_c_model_compiled_to_a_shared_library_is_served_without_a_main()
    {
        string work = Directory.CreateTempSubdirectory("maas-native-").FullName;
        string library = Path.Combine(work, "libmodel.so");
        string root = TestEnvironment.RepositoryRoot;
        await TestEnvironment.RunCheckedAsync("cc", work, "-O2", "-shared", "-fPIC", "-I", Path.Combine(root, "bindings", "c"), "-o", library, Path.Combine(root, "deploy", "native-model", "model.c"), "-lm");

        await using var server = MaasProcess.Start("serve", "--native", library, "--listen", "tcp://127.0.0.1:0", "--log-level", "Warning");
        string uri = "tcp" + await server.WaitForLineAsync("listening tcp");
        Assert.Equal("exponential", await server.WaitForLineAsync("serving"));

        var options = new MaasClientOptions();
        options.Transports.Add(new TcpTransport());
        await using var client = await MaasClient.ConnectAsync(uri, options);
        var model = await client.GetModelAsync("exponential");
        Assert.Equal(ModelCapabilities.LogDensity | ModelCapabilities.GradientX | ModelCapabilities.Sample | ModelCapabilities.Parameters, model.Info.Capabilities);
        Assert.Equal(Math.Log(1.5) - (1.5 * 0.5), await model.LogDensityAsync([0.5]), 14);
        Assert.Equal(Math.Log(2.0) - 1.0, await model.LogDensityAsync([0.5], [2.0]), 14);
        using var x = DoubleMatrix.FromColumn(0.25, 3.0);
        using var gradient = await model.GradientAsync(GradientKind.LogDensityWrtX, x);
        Assert.Equal([-1.5, -1.5], gradient.ToArray());

        // Seeded draws are reproducible and follow the distribution (mean 1/rate).
        using var a = await model.SampleMatrixAsync(20_000, seed: 5);
        using var b = await model.SampleMatrixAsync(20_000, seed: 5);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.InRange(a.ToArray().Average(), 1 / 1.5 * 0.95, 1 / 1.5 * 1.05);

        // The callback's own error message reaches the caller; the server keeps serving.
        var error = await Assert.ThrowsAsync<MaasException>(async () => await model.LogDensityAsync([1.0], [-1.0]));
        Assert.Equal(MaasErrorCode.ModelError, error.Code);
        Assert.Contains("rate must be positive, got -1", error.Message);
        var updated = await model.UpdateParametersAsync(ParameterUpdate.Of("rate", 3.0));
        Assert.Equal([3.0], updated["rate"]);
        Assert.Equal(Math.Log(3.0) - 3.0, await model.LogDensityAsync([1.0]), 14);
        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task The_fortran_plugin_template_builds_with_its_makefile_and_is_served_without_a_main()
    {
        if (!TestEnvironment.OnPath("gfortran") || !TestEnvironment.OnPath("make"))
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "gfortran or make is missing on CI: scripts/install-test-deps.sh installs them.");
            return; // A developer machine without Fortran: nothing to test here.
        }

        string work = Directory.CreateTempSubdirectory("maas-fortran-plugin-").FullName;
        string template = Path.Combine(TestEnvironment.RepositoryRoot, "bindings", "fortran", "template");

        // Plain `make`, no FC=...: the Makefile must pick gfortran over GNU make's preset f77.
        await TestEnvironment.RunCheckedAsync("make", template, "plugin", $"BUILD={work}");
        string library = Path.Combine(work, "libplugin_model.so");

        await using var server = MaasProcess.Start("serve", "--native", library, "--listen", "tcp://127.0.0.1:0", "--log-level", "Warning");
        string uri = "tcp" + await server.WaitForLineAsync("listening tcp");
        Assert.Equal("fortran_normal", await server.WaitForLineAsync("serving"));

        var options = new MaasClientOptions();
        options.Transports.Add(new TcpTransport());
        await using var client = await MaasClient.ConnectAsync(uri, options);
        var model = await client.GetModelAsync("fortran_normal");
        double expected = (-0.5 * ((0.5 * 0.5) + (1.0 * 1.0))) - Math.Log(2 * Math.PI);
        Assert.Equal(expected, await model.LogDensityAsync([0.5, 1.0]), 13);
        var error = await Assert.ThrowsAsync<MaasException>(async () => await model.LogDensityAsync([0.5, 1.0], [0.0, -1.0]));
        Assert.Equal(MaasErrorCode.ModelError, error.Code);
        Assert.Contains("sigma must be positive", error.Message);
        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task A_library_without_the_entry_points_or_not_a_library_gives_one_clear_line()
    {
        string work = Directory.CreateTempSubdirectory("maas-native-").FullName;
        string source = Path.Combine(work, "other.c");
        await File.WriteAllTextAsync(source, "int something_else(void) { return 42; }\n");
        string library = Path.Combine(work, "libother.so");
        await TestEnvironment.RunCheckedAsync("cc", work, "-shared", "-fPIC", "-o", library, source);

        var (code, _, stderr) = await MaasProcess.RunAsync("serve", "--native", library, "--listen", "tcp://127.0.0.1:0");
        Assert.NotEqual(0, code);
        Assert.StartsWith($"maas: InvalidArgument: '{library}' does not export maas_plugin_metadata and maas_plugin_callbacks", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));

        // Entry points present, metadata wrong: invalid JSON, then a model without a name.
        foreach (var (metadata, expected) in new[] { ("{not json", "is not valid JSON"), ("{\\\"input_dim\\\": 1}", "'name' is required") })
        {
            string badSource = Path.Combine(work, "bad.c");
            await File.WriteAllTextAsync(badSource, $$"""
                #include <string.h>
                #include "demos_maas.h"
                const char* maas_plugin_metadata(void) { return "{{metadata}}"; }
                int maas_plugin_callbacks(maas_model_callbacks* c) { memset(c, 0, sizeof *c); return 0; }
                """);
            string badLibrary = Path.Combine(work, $"libbad{expected.Length}.so");
            await TestEnvironment.RunCheckedAsync("cc", work, "-shared", "-fPIC", "-I", Path.Combine(TestEnvironment.RepositoryRoot, "bindings", "c"), "-o", badLibrary, badSource);
            (code, _, stderr) = await MaasProcess.RunAsync("serve", "--native", badLibrary, "--listen", "tcp://127.0.0.1:0");
            Assert.NotEqual(0, code);
            Assert.StartsWith($"maas: InvalidArgument: '{badLibrary}':", stderr.Trim());
            Assert.Contains(expected, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
        }

        (code, _, stderr) = await MaasProcess.RunAsync("serve", "--native", source, "--listen", "tcp://127.0.0.1:0");
        Assert.NotEqual(0, code);
        Assert.StartsWith($"maas: InvalidArgument: '{source}' is not a loadable shared library", stderr.Trim());

        (code, _, stderr) = await MaasProcess.RunAsync("serve", "--native", Path.Combine(work, "missing.so"), "--listen", "tcp://127.0.0.1:0");
        Assert.NotEqual(0, code);
        Assert.StartsWith("maas: NotFound: native model library", stderr.Trim());
        Directory.Delete(work, recursive: true);
    }
}
