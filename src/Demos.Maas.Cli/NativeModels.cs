using System.Runtime.InteropServices;
using System.Text.Json;

namespace Demos.Maas.Cli;

/// <summary>
/// A model compiled to a shared library and served with <c>maas serve --native lib.so</c>, no
/// <c>main</c> needed. The library exports (bindings/c/demos_maas.h, "Models as plugins"):
/// <code>
/// const char* maas_plugin_metadata(void);                    // the metadata JSON of maas_server_register_model
/// int maas_plugin_callbacks(maas_model_callbacks* callbacks); // fills the callbacks; 0 = success
/// const char* maas_plugin_error(void);                       // optional: the message after a non-zero callback
/// </code>
/// The plugin needs no symbol of libdemos_maas.so, so no second runtime is loaded into maas.
/// </summary>
internal static unsafe class NativeModels
{
    public static IModel Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new MaasException(MaasErrorCode.NotFound, $"native model library '{path}' does not exist.");
        }

        nint library;
        try
        {
            library = NativeLibrary.Load(Path.GetFullPath(path));
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' is not a loadable shared library: {ex.Message.Split('\n')[0]}");
        }

        if (!NativeLibrary.TryGetExport(library, "maas_plugin_metadata", out nint metadataExport) || !NativeLibrary.TryGetExport(library, "maas_plugin_callbacks", out nint callbacksExport))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' does not export maas_plugin_metadata and maas_plugin_callbacks (see bindings/c/demos_maas.h, \"Models as plugins\").");
        }

        NativeLibrary.TryGetExport(library, "maas_plugin_error", out nint errorExport);
        string json = Marshal.PtrToStringUTF8(((delegate* unmanaged[Cdecl]<nint>)metadataExport)()) ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}': maas_plugin_metadata returned NULL.");
        var callbacks = default(Callbacks);
        int rc = ((delegate* unmanaged[Cdecl]<Callbacks*, int>)callbacksExport)(&callbacks);
        if (rc != 0)
        {
            throw new MaasException(MaasErrorCode.ModelError, $"'{path}': maas_plugin_callbacks returned {rc}.");
        }

        return Build(path, json, callbacks, errorExport);
    }

    private static IModel Build(string path, string json, Callbacks callbacks, nint errorExport)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}': maas_plugin_metadata is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            string name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw Invalid(path, "\"name\" is required");
            int inputDim = root.TryGetProperty("input_dim", out var i) && i.TryGetInt32(out int id) && id >= 0 ? id : throw Invalid(path, "\"input_dim\" is required");
            int outputDim = root.TryGetProperty("output_dim", out var o) && o.TryGetInt32(out int od) ? od : 0;
            var builder = ModelBuilder.Create(name).WithInputDimension(inputDim);
            if (root.TryGetProperty("uuid", out var u) && Guid.TryParse(u.GetString(), out var uuid)) { builder.WithUuid(uuid); }
            if (root.TryGetProperty("version", out var v) && v.GetString() is { } version) { builder.WithVersion(version); }
            if (root.TryGetProperty("description", out var d) && d.GetString() is { } description) { builder.WithDescription(description); }
            if (root.TryGetProperty("serial", out var s) && s.ValueKind == JsonValueKind.True) { builder.Serial(); }
            if (root.TryGetProperty("parameters", out var parameters))
            {
                foreach (var p in parameters.EnumerateArray())
                {
                    string pname = p.GetProperty("name").GetString()!;
                    double[] Values(string key) => p.TryGetProperty(key, out var e) ? e.ValueKind == JsonValueKind.Array ? [.. e.EnumerateArray().Select(x => x.GetDouble())] : [e.GetDouble()] : [];
                    var def = Values("default");
                    var lower = Values("lower");
                    var upper = Values("upper");
                    builder.WithParameter(pname, def, lower.Length > 0 ? lower : null, upper.Length > 0 ? upper : null, p.TryGetProperty("description", out var pd) ? pd.GetString() : null);
                }
            }

            var model = new Plugin(name, callbacks, errorExport);
            if (callbacks.LogDensity != 0) { builder.WithLogDensity((a, r) => model.Batch(callbacks.LogDensity, "LogDensity", a, r)); }
            if (callbacks.Gradient != 0) { builder.WithLogDensityGradient((a, r) => model.Batch(callbacks.Gradient, "Gradient", a, r)); }
            if (callbacks.GradientTheta != 0) { builder.WithLogDensityThetaGradient((a, r) => model.Batch(callbacks.GradientTheta, "GradientTheta", a, r)); }
            if (callbacks.Evaluate != 0) { builder.WithEvaluate(outputDim, (a, r) => model.Batch(callbacks.Evaluate, "Evaluate", a, r)); }
            if (callbacks.Vjp != 0) { builder.WithVjp((a, r) => model.Product(callbacks.Vjp, "Vjp", a, r)); }
            if (callbacks.Jvp != 0) { builder.WithJvp((a, r) => model.Product(callbacks.Jvp, "Jvp", a, r)); }
            if (callbacks.Sampler != 0) { builder.WithSampler(model.Sample); }
            return builder.Build();
        }
    }

    private static MaasException Invalid(string path, string what) => new(MaasErrorCode.InvalidArgument, $"'{path}': maas_plugin_metadata: {what}.");

    /// <summary>maas_model_callbacks, field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Callbacks
    {
        public nint UserData;
        public nint LogDensity;
        public nint Gradient;
        public nint GradientTheta;
        public nint Evaluate;
        public nint Vjp;
        public nint Jvp;
        public nint Sampler;
    }

    private sealed class Plugin(string name, Callbacks callbacks, nint errorExport)
    {
        public void Batch(nint function, string operation, ModelArgs a, Span<double> result)
        {
            int rc;
            fixed (double* x = a.X)
            fixed (double* theta = a.Theta)
            fixed (double* output = result)
            {
                rc = ((delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, nint, int>)function)(x, a.Rows, a.Columns, theta, a.Theta.Length, output, callbacks.UserData);
            }

            Check(rc, operation);
        }

        public void Product(nint function, string operation, ModelArgs a, Span<double> result)
        {
            int rc;
            fixed (double* x = a.X)
            fixed (double* v = a.Vector)
            fixed (double* theta = a.Theta)
            fixed (double* output = result)
            {
                rc = ((delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, long, double*, nint, int>)function)(x, a.Rows, a.Columns, v, a.Vector.Length, theta, a.Theta.Length, output, callbacks.UserData);
            }

            Check(rc, operation);
        }

        // Chunk k of a sample gets the (k+1)-th output of the call's seeded generator as its seed,
        // as the C ABI specifies, so a sampler that seeds itself from `seed` is reproducible.
        public void Sample(SamplerArgs a, Span<double> result)
        {
            ulong seed = a.Random is SeededRandom seeded ? seeded.NextUInt64() : (ulong)a.Random.NextInt64();
            int rc;
            fixed (double* theta = a.Theta)
            fixed (double* output = result)
            {
                rc = ((delegate* unmanaged[Cdecl]<ulong, long, long, double*, long, double*, nint, int>)callbacks.Sampler)(seed, a.Rows, a.Columns, theta, a.Theta.Length, output, callbacks.UserData);
            }

            Check(rc, "Sample");
        }

        private void Check(int rc, string operation)
        {
            if (rc == 0)
            {
                return;
            }

            string message = errorExport != 0 ? Marshal.PtrToStringUTF8(((delegate* unmanaged[Cdecl]<nint>)errorExport)()) ?? "" : "";
            throw new MaasException(MaasErrorCode.ModelError, $"{name}.{operation}: {(message.Length > 0 ? message : $"the native callback returned {rc}")}");
        }
    }
}
