using System.Runtime.InteropServices;
using System.Text.Json;

namespace Demos.Maas.Native;

/// <summary>The callback table of <c>maas_model_callbacks</c> (demos_maas.h); NULL = capability absent.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ModelCallbacks
{
    public void* UserData;
    public delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, void*, int> LogDensity;
    public delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, void*, int> Gradient;
    public delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, void*, int> GradientTheta;
    public delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, void*, int> Evaluate;
    public delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, long, double*, void*, int> Vjp;
    public delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, long, double*, void*, int> Jvp;
    public delegate* unmanaged[Cdecl]<ulong, long, long, double*, long, double*, void*, int> Sampler;
}

/// <summary>
/// Builds an <see cref="IModel"/> whose functions are native callbacks: metadata JSON → <see cref="ModelBuilder"/>,
/// each callback wrapped so that a non-zero return becomes ModelError with the message the callback
/// left (through <c>maas_callback_error</c> in the library, <c>maas_plugin_error</c> for a plugin
/// served by <c>maas serve --native</c>; also compiled into the tool).
/// </summary>
internal static unsafe class NativeModel
{
    /// <summary>MAAS_MODEL_SERIAL: one callback at a time.</summary>
    public const uint SerialFlag = 1;

    /// <param name="takeCallbackError">Returns (and clears, where it can) the calling thread's last callback error message.</param>
    public static IModel Build(string metadataJson, ModelCallbacks callbacks, uint flags, int workers, Func<string?> takeCallbackError)
    {
        using var document = NativeJson.Parse(metadataJson, "Model metadata");
        var root = document.RootElement;
        string name = NativeJson.String(root, "name") ?? throw new MaasException(MaasErrorCode.InvalidArgument, "Model metadata: 'name' is required.");
        var builder = ModelBuilder.Create(name);
        long inputDim = NativeJson.Long(root, "input_dim") ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"Model metadata of '{name}': 'input_dim' is required.");
        builder.WithInputDimension(checked((int)inputDim));
        if (NativeJson.String(root, "uuid") is { } uuid) { builder.WithUuid(Guid.Parse(uuid)); }
        if (NativeJson.String(root, "version") is { } version) { builder.WithVersion(version); }
        if (NativeJson.String(root, "description") is { } description) { builder.WithDescription(description); }
        if (NativeJson.String(root, "doi") is { } doi) { builder.WithDoi(doi); }
        if (root.TryGetProperty("authors", out var authors) && authors.ValueKind == JsonValueKind.Array)
        {
            builder.WithAuthors([.. authors.EnumerateArray().Select(a => a.GetString() ?? "")]);
        }

        if (root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Array)
        {
            foreach (var p in parameters.EnumerateArray())
            {
                string pName = NativeJson.String(p, "name") ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"Model metadata of '{name}': a parameter has no 'name'.");
                if (!p.TryGetProperty("default", out var dflt))
                {
                    throw new MaasException(MaasErrorCode.InvalidArgument, $"Model metadata of '{name}': parameter '{pName}' has no 'default'.");
                }

                double[]? lower = p.TryGetProperty("lower", out var lo) ? NativeJson.Doubles(lo, pName + ".lower") : null;
                double[]? upper = p.TryGetProperty("upper", out var up) ? NativeJson.Doubles(up, pName + ".upper") : null;
                string? pDescription = NativeJson.String(p, "description");
                if (dflt.ValueKind == JsonValueKind.Number)
                {
                    builder.WithScalarParameter(pName, dflt.GetDouble(), lower?[0] ?? double.NegativeInfinity, upper?[0] ?? double.PositiveInfinity, pDescription);
                }
                else
                {
                    builder.WithParameter(pName, NativeJson.Doubles(dflt, pName + ".default"), lower, upper, pDescription);
                }
            }
        }

        if (NativeJson.Bool(root, "read_only_parameters") == true) { builder.WithReadOnlyParameters(); }
        if (root.TryGetProperty("datasets", out var datasets) && datasets.ValueKind == JsonValueKind.Array)
        {
            foreach (var ds in datasets.EnumerateArray())
            {
                string dsName = NativeJson.String(ds, "name") ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"Model metadata of '{name}': a dataset has no 'name'.");
                int columns = checked((int)(NativeJson.Long(ds, "columns") ?? 1));
                double[] values = ds.TryGetProperty("values", out var v) ? NativeJson.Doubles(v, dsName) : [];
                if (columns <= 0 || values.Length % columns != 0)
                {
                    throw new MaasException(MaasErrorCode.InvalidArgument, $"Model metadata of '{name}': dataset '{dsName}' has {values.Length} values, not a multiple of {columns} columns.");
                }

                builder.WithDataset(dsName, DoubleMatrix.Wrap(values, values.Length / columns, columns), NativeJson.String(ds, "description"));
            }
        }

        bool serial = (flags & SerialFlag) != 0 || NativeJson.Bool(root, "serial") == true;
        // Serial models are serialised by ModelBuilder itself; a worker limit bounds parallel callbacks.
        var gate = !serial && workers > 0 ? new SemaphoreSlim(workers, workers) : null;
        if (serial) { builder.Serial(); }
        string model = name;
        var c = callbacks;
        if (c.LogDensity is not null) { builder.WithLogDensity(Batch(c.LogDensity, c.UserData, gate, model, "log_density", takeCallbackError)); }
        if (c.Gradient is not null) { builder.WithLogDensityGradient(Batch(c.Gradient, c.UserData, gate, model, "gradient", takeCallbackError)); }
        if (c.GradientTheta is not null) { builder.WithLogDensityThetaGradient(Batch(c.GradientTheta, c.UserData, gate, model, "gradient_theta", takeCallbackError)); }
        if (c.Evaluate is not null)
        {
            long outputDim = NativeJson.Long(root, "output_dim") ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"Model metadata of '{name}': 'output_dim' is required with an evaluate callback.");
            builder.WithEvaluate(checked((int)outputDim), Batch(c.Evaluate, c.UserData, gate, model, "evaluate", takeCallbackError));
        }

        if (c.Vjp is not null) { builder.WithVjp(Product(c.Vjp, c.UserData, gate, model, "vjp", takeCallbackError)); }
        if (c.Jvp is not null) { builder.WithJvp(Product(c.Jvp, c.UserData, gate, model, "jvp", takeCallbackError)); }
        if (c.Sampler is not null) { builder.WithSampler(Sampler(c.Sampler, c.UserData, gate, model, takeCallbackError)); }
        return builder.Build();
    }

    private static BatchFunction Batch(delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, void*, int> function, void* userData, SemaphoreSlim? gate, string model, string operation, Func<string?> takeError)
    {
        nint fn = (nint)function;
        nint user = (nint)userData;
        return (args, result) =>
        {
            gate?.Wait(args.CancellationToken);
            double[]? xCopy = null;
            try
            {
                int status;
                takeError();
                fixed (double* x = Aligned(args.X, ref xCopy))
                fixed (double* theta = args.Theta)
                fixed (double* output = result)
                {
                    var f = (delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, void*, int>)fn;
                    status = f(x, args.Rows, args.Columns, theta, args.Theta.Length, output, (void*)user);
                }

                Check(status, model, operation, takeError);
            }
            finally
            {
                gate?.Release();
                ReturnCopy(xCopy);
            }
        };
    }

    private static BatchFunction Product(delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, long, double*, void*, int> function, void* userData, SemaphoreSlim? gate, string model, string operation, Func<string?> takeError)
    {
        nint fn = (nint)function;
        nint user = (nint)userData;
        return (args, result) =>
        {
            gate?.Wait(args.CancellationToken);
            double[]? xCopy = null;
            double[]? vectorCopy = null;
            try
            {
                int status;
                takeError();
                fixed (double* x = Aligned(args.X, ref xCopy))
                fixed (double* vector = Aligned(args.Vector, ref vectorCopy))
                fixed (double* theta = args.Theta)
                fixed (double* output = result)
                {
                    var f = (delegate* unmanaged[Cdecl]<double*, long, long, double*, long, double*, long, double*, void*, int>)fn;
                    status = f(x, args.Rows, args.Columns, vector, args.Vector.Length, theta, args.Theta.Length, output, (void*)user);
                }

                Check(status, model, operation, takeError);
            }
            finally
            {
                gate?.Release();
                ReturnCopy(xCopy);
                ReturnCopy(vectorCopy);
            }
        };
    }

    /// <summary>
    /// <paramref name="values"/> itself when it starts on an 8-byte boundary, else a copy that does
    /// (in <paramref name="copy"/>, from the pool). C, C++ and Fortran compilers may assume that a
    /// double* is aligned (vectorised loops do), and a matrix read in place from a received frame
    /// can start at any byte.
    /// </summary>
    private static ReadOnlySpan<double> Aligned(ReadOnlySpan<double> values, ref double[]? copy)
    {
        fixed (double* start = values)
        {
            if (((nint)start & (sizeof(double) - 1)) == 0)
            {
                return values;
            }
        }

        copy = System.Buffers.ArrayPool<double>.Shared.Rent(values.Length);
        values.CopyTo(copy);
        return copy.AsSpan(0, values.Length);
    }

    private static void ReturnCopy(double[]? copy)
    {
        if (copy is not null)
        {
            System.Buffers.ArrayPool<double>.Shared.Return(copy);
        }
    }

    // Each chunk's seed is the next 64-bit draw of the call's SeededRandom (xoshiro256** seeded by
    // SplitMix64 from the call's seed): chunk k always gets the same seed for the same call seed.
    private static SamplerFunction Sampler(delegate* unmanaged[Cdecl]<ulong, long, long, double*, long, double*, void*, int> function, void* userData, SemaphoreSlim? gate, string model, Func<string?> takeError)
    {
        nint fn = (nint)function;
        nint user = (nint)userData;
        return (args, result) =>
        {
            ulong chunkSeed = args.Random is SeededRandom seeded ? seeded.NextUInt64() : (ulong)args.Random.NextInt64();
            gate?.Wait(args.CancellationToken);
            try
            {
                int status;
                takeError();
                fixed (double* theta = args.Theta)
                fixed (double* output = result)
                {
                    var f = (delegate* unmanaged[Cdecl]<ulong, long, long, double*, long, double*, void*, int>)fn;
                    status = f(chunkSeed, args.Rows, args.Columns, theta, args.Theta.Length, output, (void*)user);
                }

                Check(status, model, "sample", takeError);
            }
            finally
            {
                gate?.Release();
            }
        };
    }

    private static void Check(int status, string model, string operation, Func<string?> takeError)
    {
        if (status != 0)
        {
            string message = takeError() is { Length: > 0 } m ? m : $"the callback returned {status} without a message";
            throw new MaasException(MaasErrorCode.ModelError, $"{model}.{operation}: {message}");
        }
    }
}
