using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demos.Maas.Native;

/// <summary>
/// The client half of the C ABI (see bindings/c/demos_maas.h for the contract of each function).
/// Every export clears the thread's last error, runs inside try/catch and returns a status code.
/// </summary>
internal static unsafe class ClientExports
{
    [UnmanagedCallersOnly(EntryPoint = "maas_client_connect", CallConvs = [typeof(CallConvCdecl)])]
    public static int Connect(byte* uri, byte* optionsJson, nint* client)
    {
        NativeErrors.Clear();
        try
        {
            if (client is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_client_connect: out pointer is NULL."); }
            *client = 0;
            var connected = NativeClient.Connect(NativeStrings.Required(uri, "uri"), NativeStrings.Read(optionsJson));
            *client = HandleTable.Add(connected);
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_client_close", CallConvs = [typeof(CallConvCdecl)])]
    public static int Close(nint client)
    {
        NativeErrors.Clear();
        try
        {
            HandleTable.Remove<NativeClient>(client, "client").Close();
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_client_list_models", CallConvs = [typeof(CallConvCdecl)])]
    public static int ListModels(nint client, byte** json)
    {
        NativeErrors.Clear();
        try
        {
            CheckOut(json, "json");
            var c = HandleTable.Get<NativeClient>(client, "client");
            var infos = c.Client.ListModelsAsync().GetAwaiter().GetResult();
            *json = NativeStrings.Allocate(NativeJson.Infos(infos));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_client_model_info", CallConvs = [typeof(CallConvCdecl)])]
    public static int ModelInfo(nint client, byte* model, byte** json)
    {
        NativeErrors.Clear();
        try
        {
            CheckOut(json, "json");
            var m = Model(client, model);
            *json = NativeStrings.Allocate(NativeJson.Info(m.Info));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_log_density", CallConvs = [typeof(CallConvCdecl)])]
    public static int LogDensity(nint client, byte* model, double* x, long n, long d, double* theta, long thetaLength, double* output, long capacity, long* outputLength)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            using var points = Matrix(x, n, d, "x");
            Reserve(output, capacity, outputLength, n, "log_density");
            using var result = m.LogDensityAsync(points, Vector(theta, thetaLength, "theta")).AsTask().GetAwaiter().GetResult();
            return Deliver(result, output, capacity, outputLength);
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_evaluate", CallConvs = [typeof(CallConvCdecl)])]
    public static int Evaluate(nint client, byte* model, double* x, long n, long d, double* theta, long thetaLength, double* output, long capacity, long* outputLength)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            using var points = Matrix(x, n, d, "x");
            Reserve(output, capacity, outputLength, n * m.Info.OutputDimension, "evaluate");
            using var result = m.EvaluateAsync(points, Vector(theta, thetaLength, "theta")).AsTask().GetAwaiter().GetResult();
            return Deliver(result, output, capacity, outputLength);
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_gradient", CallConvs = [typeof(CallConvCdecl)])]
    public static int Gradient(nint client, byte* model, int kind, double* x, long n, long d, double* vector, long vectorLength, double* theta, long thetaLength, double* output, long capacity, long* outputLength)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            if (kind is < 1 or > 4)
            {
                return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_gradient: kind {kind} is not one of MAAS_GRADIENT_X (1), _THETA (2), _VJP (3), _JVP (4).");
            }

            var gradientKind = (GradientKind)kind;
            using var points = Matrix(x, n, d, "x");
            int vectorColumns = gradientKind switch
            {
                GradientKind.EvaluateVjp => m.Info.OutputDimension,
                GradientKind.EvaluateJvp => m.Info.InputDimension,
                _ => 0,
            };
            using var v = vectorColumns == 0 ? null : Matrix(vector, vectorLength == n * vectorColumns ? n : -1, vectorColumns, $"vector (needs n x {vectorColumns} = {n * vectorColumns} values, got {vectorLength})");
            long columns = gradientKind switch
            {
                GradientKind.LogDensityWrtX => m.Info.InputDimension,
                GradientKind.LogDensityWrtTheta => m.Info.ParameterCount,
                GradientKind.EvaluateVjp => m.Info.InputDimension,
                _ => m.Info.OutputDimension,
            };
            Reserve(output, capacity, outputLength, n * columns, "gradient");
            using var result = m.GradientAsync(gradientKind, points, v, Vector(theta, thetaLength, "theta")).AsTask().GetAwaiter().GetResult();
            return Deliver(result, output, capacity, outputLength);
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_sample", CallConvs = [typeof(CallConvCdecl)])]
    public static int Sample(nint client, byte* model, ulong seed, long n, double* theta, long thetaLength, double* output, long capacity, long* outputLength)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            CheckCount(n, "n");
            Reserve(output, capacity, outputLength, n * m.Info.InputDimension, "sample");
            var request = new SampleRequest { Count = n, Seed = seed, Theta = Vector(theta, thetaLength, "theta") };
            long written = 0;
            Drain(m.SampleAsync(request), chunk =>
            {
                if (written + chunk.Length > capacity)
                {
                    throw new MaasException(MaasErrorCode.ProtocolError, "The server sent more rows than asked for.");
                }

                chunk.Span.CopyTo(new Span<double>(output + written, chunk.Length));
                written += chunk.Length;
                return true;
            });
            if (outputLength is not null) { *outputLength = written; }
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_sample_chunks", CallConvs = [typeof(CallConvCdecl)])]
    public static int SampleChunks(nint client, byte* model, ulong seed, long n, long chunkRows, double* theta, long thetaLength, delegate* unmanaged[Cdecl]<double*, long, long, void*, int> onChunk, void* userData)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            CheckCount(n, "n");
            if (onChunk is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_sample_chunks: the chunk callback is NULL."); }
            if (chunkRows < 0 || chunkRows > int.MaxValue) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_sample_chunks: chunk_rows {chunkRows} is out of range."); }
            var request = new SampleRequest { Count = n, Seed = seed, ChunkRows = (int)chunkRows, Theta = Vector(theta, thetaLength, "theta") };
            return DeliverChunks(m.SampleAsync(request), onChunk, userData);
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_read_data", CallConvs = [typeof(CallConvCdecl)])]
    public static int ReadData(nint client, byte* model, byte* dataset, long offset, long count, double* output, long capacity, long* rows, long* columns)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            string name = NativeStrings.Required(dataset, "dataset name");
            var datasets = m.ListDatasetsAsync().AsTask().GetAwaiter().GetResult();
            var info = datasets.FirstOrDefault(ds => ds.Name == name) ?? throw new MaasException(MaasErrorCode.NotFound, $"Model '{m.Info.Name}' has no dataset '{name}'.");
            long available = Math.Max(0, info.Rows - Math.Max(0, offset));
            long wanted = count < 0 ? available : Math.Min(count, available);
            if (rows is not null) { *rows = wanted; }
            if (columns is not null) { *columns = info.Columns; }
            long needed = wanted * info.Columns;
            if (needed > 0 && (output is null || capacity < needed))
            {
                return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_read_data: the output buffer holds {capacity} values but {wanted} x {info.Columns} = {needed} are needed (written to *rows and *columns).");
            }

            long written = 0;
            Drain(m.ReadDatasetAsync(new DataRequest { Name = name, Offset = offset, Count = count }), chunk =>
            {
                if (written + chunk.Length > capacity)
                {
                    throw new MaasException(MaasErrorCode.ProtocolError, "The server sent more rows than the dataset holds.");
                }

                chunk.Span.CopyTo(new Span<double>(output + written, chunk.Length));
                written += chunk.Length;
                return true;
            });
            if (rows is not null) { *rows = info.Columns == 0 ? 0 : written / info.Columns; }
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_read_data_chunks", CallConvs = [typeof(CallConvCdecl)])]
    public static int ReadDataChunks(nint client, byte* model, byte* dataset, long offset, long count, long chunkRows, delegate* unmanaged[Cdecl]<double*, long, long, void*, int> onChunk, void* userData)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            string name = NativeStrings.Required(dataset, "dataset name");
            if (onChunk is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_read_data_chunks: the chunk callback is NULL."); }
            if (chunkRows < 0 || chunkRows > int.MaxValue) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_read_data_chunks: chunk_rows {chunkRows} is out of range."); }
            return DeliverChunks(m.ReadDatasetAsync(new DataRequest { Name = name, Offset = offset, Count = count, ChunkRows = (int)chunkRows }), onChunk, userData);
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_get_parameters", CallConvs = [typeof(CallConvCdecl)])]
    public static int GetParameters(nint client, byte* model, byte** json)
    {
        NativeErrors.Clear();
        try
        {
            CheckOut(json, "json");
            var m = Model(client, model);
            var set = m.GetParametersAsync().AsTask().GetAwaiter().GetResult();
            *json = NativeStrings.Allocate(NativeJson.Parameters(set));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_get_parameter", CallConvs = [typeof(CallConvCdecl)])]
    public static int GetParameter(nint client, byte* model, byte* name, double* output, long capacity, long* outputLength)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            string parameter = NativeStrings.Required(name, "parameter name");
            var set = m.GetParametersAsync().AsTask().GetAwaiter().GetResult();
            var found = set.Values.FirstOrDefault(kv => kv.Key == parameter);
            if (found.Value is null)
            {
                return NativeErrors.Fail(MaasErrorCode.NotFound, $"Model '{m.Info.Name}' has no parameter '{parameter}'.");
            }

            Reserve(output, capacity, outputLength, found.Value.Length, "get_parameter");
            found.Value.CopyTo(new Span<double>(output, found.Value.Length));
            if (outputLength is not null) { *outputLength = found.Value.Length; }
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_update_parameters", CallConvs = [typeof(CallConvCdecl)])]
    public static int UpdateParameters(nint client, byte* model, byte* valuesJson, byte** json)
    {
        NativeErrors.Clear();
        try
        {
            if (json is not null) { *json = null; }
            var m = Model(client, model);
            var update = NativeJson.ParseUpdate(NativeStrings.Required(valuesJson, "values_json"));
            var set = m.UpdateParametersAsync(update).AsTask().GetAwaiter().GetResult();
            if (json is not null) { *json = NativeStrings.Allocate(NativeJson.Parameters(set)); }
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_update_parameter", CallConvs = [typeof(CallConvCdecl)])]
    public static int UpdateParameter(nint client, byte* model, byte* name, double* values, long length)
    {
        NativeErrors.Clear();
        try
        {
            var m = Model(client, model);
            string parameter = NativeStrings.Required(name, "parameter name");
            double[] copy = Vector(values, length, "values").ToArray();
            m.UpdateParametersAsync(ParameterUpdate.Of(parameter, copy)).AsTask().GetAwaiter().GetResult();
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    private static Client.RemoteModel Model(nint client, byte* model) =>
        HandleTable.Get<NativeClient>(client, "client").Model(NativeStrings.Required(model, "model name"));

    private static void CheckOut(byte** json, string what)
    {
        if (json is null) { throw new MaasException(MaasErrorCode.InvalidArgument, $"The out pointer '{what}' is NULL."); }
        *json = null;
    }

    private static void CheckCount(long n, string what)
    {
        if (n < 0) { throw new MaasException(MaasErrorCode.InvalidArgument, $"{what} = {n} is negative."); }
    }

    /// <summary>Copies a caller's n x d row-major array (the call never keeps the caller's memory).</summary>
    private static DoubleMatrix Matrix(double* values, long n, long d, string what)
    {
        if (n < 0 || d < 0)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{what}: shape {n} x {d} is invalid.");
        }

        if (n * d > int.MaxValue / 2)
        {
            throw new MaasException(MaasErrorCode.ResourceExhausted, $"{what}: {n} x {d} values are more than one call can carry; split the batch.");
        }

        if (values is null && n * d > 0)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{what} is NULL but holds {n} x {d} values.");
        }

        return DoubleMatrix.CopyOf(new ReadOnlySpan<double>(values, (int)(n * d)), (int)n, (int)d);
    }

    private static ReadOnlyMemory<double> Vector(double* values, long length, string what)
    {
        if (length < 0) { throw new MaasException(MaasErrorCode.InvalidArgument, $"{what}: length {length} is negative."); }
        if (length == 0) { return default; }
        if (values is null) { throw new MaasException(MaasErrorCode.InvalidArgument, $"{what} is NULL but its length is {length}."); }
        return new ReadOnlySpan<double>(values, (int)Math.Min(length, int.MaxValue)).ToArray();
    }

    /// <summary>Checks the caller's output buffer before any work, reporting the needed size in <paramref name="outputLength"/>.</summary>
    private static void Reserve(double* output, long capacity, long* outputLength, long needed, string operation)
    {
        if (outputLength is not null) { *outputLength = needed; }
        if (needed > 0 && output is null)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"maas_{operation}: the output buffer is NULL but {needed} values are needed.");
        }

        if (capacity < needed)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"maas_{operation}: the output buffer holds {capacity} values but {needed} are needed (the needed length is in *out_len).");
        }
    }

    private static int Deliver(DoubleMatrix result, double* output, long capacity, long* outputLength)
    {
        if (result.Length > capacity)
        {
            if (outputLength is not null) { *outputLength = result.Length; }
            return NativeErrors.Fail(MaasErrorCode.ResourceExhausted, $"The result has {result.Length} values but the output buffer holds {capacity}.");
        }

        result.Span.CopyTo(new Span<double>(output, result.Length));
        if (outputLength is not null) { *outputLength = result.Length; }
        return 0;
    }

    private static void Drain(IAsyncEnumerable<DoubleMatrix> chunks, Func<DoubleMatrix, bool> take)
    {
        var enumerator = chunks.GetAsyncEnumerator();
        try
        {
            while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                using var chunk = enumerator.Current;
                if (!take(chunk))
                {
                    break;
                }
            }
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static int DeliverChunks(IAsyncEnumerable<DoubleMatrix> chunks, delegate* unmanaged[Cdecl]<double*, long, long, void*, int> onChunk, void* userData)
    {
        int stoppedWith = 0;
        Drain(chunks, chunk =>
        {
            fixed (double* rows = chunk.Span)
            {
                stoppedWith = onChunk(rows, chunk.Rows, chunk.Columns, userData);
            }

            return stoppedWith == 0;
        });
        return stoppedWith == 0 ? 0 : NativeErrors.Fail(MaasErrorCode.Cancelled, $"The chunk callback returned {stoppedWith}; the stream was stopped.");
    }
}
