using System.Runtime.InteropServices;
using Demos.Maas.Tests;

namespace Demos.Maas.Models.Tests;

/// <summary>
/// A model plugin of deploy/domain-models compiled here and loaded into the test process, so its
/// callbacks can be called directly: the "native result" the served model is compared with.
/// </summary>
internal sealed class NativePlugin
{
    private readonly Callbacks _callbacks;

    private NativePlugin(string path, nint handle, Callbacks callbacks)
    {
        Path = path;
        Handle = handle;
        _callbacks = callbacks;
    }

    public string Path { get; }

    public nint Handle { get; }

    /// <summary>The layout of maas_model_callbacks in bindings/c/demos_maas.h.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Callbacks
    {
        public nint UserData;
        public nint LogDensity, Gradient, GradientTheta, Evaluate, Vjp, Jvp, Sampler;
    }

    /// <summary>Compiles a plugin once per test run; null (after failing on CI) when the compiler is missing.</summary>
    public static async Task<NativePlugin?> BuildAsync(string compiler, string source, string library, params string[] extra)
    {
        if (!TestEnvironment.OnPath(compiler))
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", $"{compiler} is missing on CI: scripts/install-test-deps.sh installs it.");
            return null; // a developer machine without the compiler: nothing to compare
        }

        string root = TestEnvironment.RepositoryRoot;
        string work = Directory.CreateTempSubdirectory("maas-domain-").FullName;
        string path = System.IO.Path.Combine(work, library);
        await TestEnvironment.RunCheckedAsync(compiler, work, [.. extra, "-O2", "-shared", "-fPIC", "-I", System.IO.Path.Combine(root, "bindings", "c"), "-o", path, System.IO.Path.Combine(root, "deploy", "domain-models", source)]);
        return Load(path);
    }

    private static unsafe NativePlugin Load(string path)
    {
        nint handle = NativeLibrary.Load(path);
        var fill = (delegate* unmanaged[Cdecl]<Callbacks*, int>)NativeLibrary.GetExport(handle, "maas_plugin_callbacks");
        Callbacks callbacks;
        Assert.Equal(0, fill(&callbacks));
        return new NativePlugin(path, handle, callbacks);
    }

    /// <summary>The plugin's evaluate callback on a batch; fails the test on a non-zero status.</summary>
    public unsafe double[] Evaluate(DoubleMatrix x, double[] theta, int outputs)
    {
        var result = new double[x.Rows * outputs];
        var fn = (delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, nint, int>)_callbacks.Evaluate;
        fixed (double* px = x.Span, pt = theta, pr = result)
        {
            Assert.Equal(0, fn(px, x.Rows, x.Columns, pt, theta.Length, pr, _callbacks.UserData));
        }

        return result;
    }

    /// <summary>The plugin's vjp (<paramref name="jvp"/> false) or jvp callback.</summary>
    public unsafe double[] Product(bool jvp, DoubleMatrix x, DoubleMatrix v, double[] theta, int resultColumns)
    {
        var result = new double[x.Rows * resultColumns];
        var fn = (delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, long, double*, nint, int>)(jvp ? _callbacks.Jvp : _callbacks.Vjp);
        fixed (double* px = x.Span, pv = v.Span, pt = theta, pr = result)
        {
            Assert.Equal(0, fn(px, x.Rows, x.Columns, pv, v.Length, pt, theta.Length, pr, _callbacks.UserData));
        }

        return result;
    }
}
