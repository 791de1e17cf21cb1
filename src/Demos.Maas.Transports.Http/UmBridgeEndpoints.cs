using System.Text.Json;
using Demos.Maas.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// The UM-Bridge 1.0 routes at the root (docs/http.md §UM-Bridge). A hosted model with Evaluate is a
/// UM-Bridge model with one input vector (its <c>input_dim</c>) and one output vector
/// (<c>output_dim</c>); a model with only LogDensity is one whose single output is the scalar
/// log-density. <c>config</c> entries named like model parameters are that call's parameter values
/// (theta); other config keys are ignored. Every call runs through <see cref="Server.MaasServer.InvokeAsync"/>.
/// </summary>
internal sealed class UmBridgeEndpoints(MaasHttpHost host)
{
    public void Map(WebApplication app)
    {
        app.MapGet("/Info", new RequestDelegate(InfoAsync));
        app.MapPost("/ModelInfo", new RequestDelegate(ctx => HandleAsync(ctx, needsInput: false, ModelInfoAsync)));
        app.MapPost("/InputSizes", new RequestDelegate(ctx => HandleAsync(ctx, needsInput: false, InputSizesAsync)));
        app.MapPost("/OutputSizes", new RequestDelegate(ctx => HandleAsync(ctx, needsInput: false, OutputSizesAsync)));
        app.MapPost("/Evaluate", new RequestDelegate(ctx => HandleAsync(ctx, needsInput: true, EvaluateAsync)));
        app.MapPost("/Gradient", new RequestDelegate(ctx => HandleAsync(ctx, needsInput: true, GradientAsync, SupportsGradient, "Gradient")));
        app.MapPost("/ApplyJacobian", new RequestDelegate(ctx => HandleAsync(ctx, needsInput: true, ApplyJacobianAsync, SupportsJacobian, "ApplyJacobian")));
        app.MapPost("/ApplyHessian", new RequestDelegate(ctx => HandleAsync(ctx, needsInput: true, ApplyHessianAsync, SupportsHessian, "ApplyHessian")));
    }

    private static Task<object> ModelInfoAsync(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx) =>
        Task.FromResult<object>(new Support(info));

    private static Task<object> InputSizesAsync(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx) =>
        Task.FromResult<object>(new Sizes("inputSizes", info.InputDimension));

    private static Task<object> OutputSizesAsync(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx) =>
        Task.FromResult<object>(new Sizes("outputSizes", OutputSize(info)));

    private static bool IsServed(ModelInfo info) => info.Has(ModelCapabilities.Evaluate) || info.Has(ModelCapabilities.LogDensity);

    private static bool IsLogDensityOnly(ModelInfo info) => !info.Has(ModelCapabilities.Evaluate);

    private static int OutputSize(ModelInfo info) => IsLogDensityOnly(info) ? 1 : info.OutputDimension;

    // UM-Bridge 1.0 (its reference server and protocol_conformity_1.0 tests) requires an ApplyHessian
    // output of the length of output outWrt, while the Hessian action has the length of input inWrt2.
    // They agree only when the two sizes are equal, so ApplyHessian is offered only for such models:
    // we never answer with a vector of the wrong length for either reading.
    private static bool SupportsHessian(ModelInfo info) => SupportsGradient(info) && OutputSize(info) == info.InputDimension;

    private static bool SupportsGradient(ModelInfo info) => IsLogDensityOnly(info) ? info.Has(ModelCapabilities.GradientX) : info.Has(ModelCapabilities.EvaluateVjp);

    private static bool SupportsJacobian(ModelInfo info) => IsLogDensityOnly(info) ? info.Has(ModelCapabilities.GradientX) : info.Has(ModelCapabilities.EvaluateJvp);

    private async Task InfoAsync(HttpContext ctx)
    {
        host.Enter();
        try
        {
            var context = await host.Server.InvokeAsync(new MaasRequest { Operation = Protocol.Operation.ListModels }, cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
            await RestEndpoints.WriteJsonAsync(ctx, 200, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("protocolVersion", 1.0);
                w.WriteStartArray("models");
                foreach (var m in context.Response!.Models ?? [])
                {
                    if (IsServed(m)) { w.WriteStringValue(m.Name); }
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }).ConfigureAwait(false);
        }
        catch (MaasException ex)
        {
            await WriteErrorAsync(ctx, Translate(ex)).ConfigureAwait(false);
        }
        finally
        {
            host.Leave();
        }
    }

    private async Task HandleAsync(HttpContext ctx, bool needsInput, Func<ModelInfo, double[], JsonElement, ReadOnlyMemory<double>, HttpContext, Task<object>> operation, Func<ModelInfo, bool>? supported = null, string? feature = null)
    {
        host.Enter();
        try
        {
            using var document = await HttpBody.ReadAsync(ctx.Request, body =>
            {
                try
                {
                    return JsonDocument.Parse(body);
                }
                catch (JsonException ex)
                {
                    throw new UmBridgeError("InvalidInput", $"The body is not valid JSON: {ex.Message}", 400);
                }
            }, ctx.RequestAborted).ConfigureAwait(false);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
            {
                throw new UmBridgeError("InvalidInput", "The body must be a JSON object with a string 'name'.", 400);
            }

            string name = nameElement.GetString()!;
            var info = await ResolveAsync(name, ctx).ConfigureAwait(false);

            // As UM-Bridge servers do: model, then feature, then the arguments.
            if (supported is not null && !supported(info))
            {
                throw new UmBridgeError("UnsupportedFeature", $"{feature} is not supported by model {info.Name}.", 400);
            }

            double[] x = [];
            ReadOnlyMemory<double> theta = default;
            if (needsInput)
            {
                x = ReadInput(root, info);
                theta = await ThetaFromConfigAsync(root, info, ctx).ConfigureAwait(false);
            }

            var result = await operation(info, x, root, theta, ctx).ConfigureAwait(false);
            await RestEndpoints.WriteJsonAsync(ctx, 200, w => WriteResult(w, result)).ConfigureAwait(false);
        }
        catch (UmBridgeError ex) when (!ctx.Response.HasStarted)
        {
            await WriteErrorAsync(ctx, ex).ConfigureAwait(false);
        }
        catch (MaasException ex) when (!ctx.Response.HasStarted)
        {
            await WriteErrorAsync(ctx, Translate(ex)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception ex) when (!ctx.Response.HasStarted)
        {
            await WriteErrorAsync(ctx, new UmBridgeError("InvalidOutput", $"The model failed: {ex.GetType().Name}: {ex.Message}", 500)).ConfigureAwait(false);
        }
        finally
        {
            host.Leave();
        }
    }

    private static void WriteResult(Utf8JsonWriter w, object result)
    {
        w.WriteStartObject();
        switch (result)
        {
            case Support s:
                w.WriteStartObject("support");
                w.WriteBoolean("Evaluate", true);
                w.WriteBoolean("Gradient", SupportsGradient(s.Info));
                w.WriteBoolean("ApplyJacobian", SupportsJacobian(s.Info));
                w.WriteBoolean("ApplyHessian", SupportsHessian(s.Info));
                w.WriteEndObject();
                break;
            case Sizes sizes:
                w.WriteStartArray(sizes.Key);
                w.WriteNumberValue(sizes.Size);
                w.WriteEndArray();
                break;
            case Output { Nested: true } o:
                w.WriteStartArray("output");
                MaasJson.WriteVector(w, o.Values);
                w.WriteEndArray();
                break;
            case Output o:
                w.WritePropertyName("output");
                MaasJson.WriteVector(w, o.Values);
                break;
        }

        w.WriteEndObject();
    }

    private Task<ModelInfo> ResolveAsync(string name, HttpContext ctx)
    {
        // Looked up in the registry: the call itself goes through the pipeline (and its middleware) later.
        var info = host.Server.Models.TryResolve(name)?.Info;
        if (info is null || !IsServed(info))
        {
            throw new UmBridgeError("ModelNotFound", $"Model name '{name}' not found on this server.", 400);
        }

        return Task.FromResult(info);
    }

    private static double[] ReadInput(JsonElement root, ModelInfo info)
    {
        if (!root.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Array)
        {
            throw new UmBridgeError("InvalidInput", "'input' must be a list of input vectors.", 400);
        }

        if (input.GetArrayLength() != 1)
        {
            throw new UmBridgeError("InvalidInput", $"Number of input parameters does not match model number of model inputs! Expected 1, got {input.GetArrayLength()}.", 400);
        }

        double[] x = ReadVector(input[0], "input[0]");
        if (x.Length != info.InputDimension)
        {
            throw new UmBridgeError("InvalidInput", $"Input parameter 0 has invalid length! Expected {info.InputDimension} but got {x.Length}.", 400);
        }

        return x;
    }

    private static double[] ReadVector(JsonElement element, string field)
    {
        try
        {
            return MaasJson.ReadVector(element, field);
        }
        catch (MaasException ex)
        {
            throw new UmBridgeError("InvalidInput", ex.Message, 400);
        }
    }

    private static double ReadScalar(JsonElement element, string field)
    {
        try
        {
            return MaasJson.ReadNumber(element, field);
        }
        catch (MaasException ex)
        {
            throw new UmBridgeError("InvalidInput", ex.Message, 400);
        }
    }

    private static int ReadIndex(JsonElement root, string key, int count)
    {
        int index = root.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i) ? i : -1;
        if (index < 0 || index >= count)
        {
            throw new UmBridgeError("InvalidInput", $"Invalid {key} index! Expected between 0 and {count - 1}, but got {(root.TryGetProperty(key, out var raw) ? raw.ToString() : "nothing")}.", 400);
        }

        return index;
    }

    private async Task<ReadOnlyMemory<double>> ThetaFromConfigAsync(JsonElement root, ModelInfo info, HttpContext ctx)
    {
        if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object || info.Parameters.Count == 0)
        {
            return default;
        }

        bool any = false;
        foreach (var p in config.EnumerateObject())
        {
            any |= info.Parameters.Any(q => q.Name == p.Name);
        }

        if (!any)
        {
            return default;
        }

        var current = await host.Server.InvokeAsync(new MaasRequest { Operation = Protocol.Operation.GetParameters, Model = info.Name }, cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
        var theta = new List<double>(info.ParameterCount);
        foreach (var p in info.Parameters)
        {
            if (config.TryGetProperty(p.Name, out var value))
            {
                var values = value.ValueKind == JsonValueKind.Array ? ReadVector(value, $"config.{p.Name}") : [ReadScalar(value, $"config.{p.Name}")];
                if (values.Length != p.Size)
                {
                    throw new UmBridgeError("InvalidInput", $"config.{p.Name} has {values.Length} values; the parameter has {p.Size}.", 400);
                }

                theta.AddRange(values);
            }
            else
            {
                theta.AddRange(current.Response!.Parameters![p.Name]);
            }
        }

        return theta.ToArray();
    }

    private async Task<object> EvaluateAsync(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx)
    {
        var y = await CallAsync(IsLogDensityOnly(info) ? Protocol.Operation.LogDensity : Protocol.Operation.Evaluate, info, x, theta, null, default, ctx).ConfigureAwait(false);
        return new Output(y, Nested: true);
    }

    private async Task<object> GradientAsync(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx)
    {
        if (!SupportsGradient(info))
        {
            throw new UmBridgeError("UnsupportedFeature", $"Gradient is not supported by model {info.Name}.", 400);
        }

        ReadIndex(root, "outWrt", 1);
        ReadIndex(root, "inWrt", 1);
        if (!root.TryGetProperty("sens", out var sensElement))
        {
            throw new UmBridgeError("InvalidInput", "'sens' is required.", 400);
        }

        var sens = ReadVector(sensElement, "sens");
        int outputs = OutputSize(info);
        if (sens.Length != outputs)
        {
            throw new UmBridgeError("InvalidInput", $"Sensitivity vector sens has invalid length! Expected {outputs} but got {sens.Length}.", 400);
        }

        if (IsLogDensityOnly(info))
        {
            var grad = await CallAsync(Protocol.Operation.Gradient, info, x, theta, null, GradientKind.LogDensityWrtX, ctx).ConfigureAwait(false);
            for (int i = 0; i < grad.Length; i++)
            {
                grad[i] *= sens[0];
            }

            return new Output(grad, Nested: false);
        }

        return new Output(await CallAsync(Protocol.Operation.Gradient, info, x, theta, sens, GradientKind.EvaluateVjp, ctx).ConfigureAwait(false), Nested: false);
    }

    private async Task<object> ApplyJacobianAsync(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx)
    {
        if (!SupportsJacobian(info))
        {
            throw new UmBridgeError("UnsupportedFeature", $"ApplyJacobian is not supported by model {info.Name}.", 400);
        }

        ReadIndex(root, "outWrt", 1);
        ReadIndex(root, "inWrt", 1);
        if (!root.TryGetProperty("vec", out var vecElement))
        {
            throw new UmBridgeError("InvalidInput", "'vec' is required.", 400);
        }

        var vec = ReadVector(vecElement, "vec");
        if (vec.Length != info.InputDimension)
        {
            throw new UmBridgeError("InvalidInput", $"Vector vec has invalid length! Expected {info.InputDimension} but got {vec.Length}.", 400);
        }

        if (IsLogDensityOnly(info))
        {
            var grad = await CallAsync(Protocol.Operation.Gradient, info, x, theta, null, GradientKind.LogDensityWrtX, ctx).ConfigureAwait(false);
            double dot = 0;
            for (int i = 0; i < grad.Length; i++)
            {
                dot += grad[i] * vec[i];
            }

            return new Output([dot], Nested: false);
        }

        return new Output(await CallAsync(Protocol.Operation.Gradient, info, x, theta, vec, GradientKind.EvaluateJvp, ctx).ConfigureAwait(false), Nested: false);
    }

    /// <summary>
    /// ApplyHessian by central finite differences of the gradient of sens·F (the VJP, or sens[0]·∇ log p):
    /// H·vec ≈ (g(x + h·vec) − g(x − h·vec)) / 2h, with h = ∛ε · max(1, ‖x‖∞) / ‖vec‖∞. Exact for
    /// quadratic models; otherwise the error is O(h²) relative to the third derivatives.
    /// </summary>
    private async Task<object> ApplyHessianAsync(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx)
    {
        if (!SupportsGradient(info))
        {
            throw new UmBridgeError("UnsupportedFeature", $"ApplyHessian is not supported by model {info.Name} (it has no gradient).", 400);
        }

        ReadIndex(root, "outWrt", 1);
        ReadIndex(root, "inWrt1", 1);
        ReadIndex(root, "inWrt2", 1);
        if (!root.TryGetProperty("sens", out var sensElement) || !root.TryGetProperty("vec", out var vecElement))
        {
            throw new UmBridgeError("InvalidInput", "'sens' and 'vec' are required.", 400);
        }

        var sens = ReadVector(sensElement, "sens");
        var vec = ReadVector(vecElement, "vec");
        if (sens.Length != OutputSize(info))
        {
            throw new UmBridgeError("InvalidInput", $"Sensitivity vector sens has invalid length! Expected {OutputSize(info)} but got {sens.Length}.", 400);
        }

        if (vec.Length != info.InputDimension)
        {
            throw new UmBridgeError("InvalidInput", $"Vector vec has invalid length! Expected {info.InputDimension} but got {vec.Length}.", 400);
        }

        double vecNorm = vec.Max(Math.Abs);
        if (vecNorm == 0)
        {
            return new Output(new double[info.InputDimension], Nested: false);
        }

        double h = Math.Cbrt(2.220446049250313e-16) * Math.Max(1, x.Max(Math.Abs)) / vecNorm;
        var plus = new double[x.Length];
        var minus = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            plus[i] = x[i] + (h * vec[i]);
            minus[i] = x[i] - (h * vec[i]);
        }

        var gPlus = await GradientOfSensAsync(info, plus, sens, theta, ctx).ConfigureAwait(false);
        var gMinus = await GradientOfSensAsync(info, minus, sens, theta, ctx).ConfigureAwait(false);
        var result = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            result[i] = (gPlus[i] - gMinus[i]) / (2 * h);
        }

        return new Output(result, Nested: false);
    }

    private async Task<double[]> GradientOfSensAsync(ModelInfo info, double[] x, double[] sens, ReadOnlyMemory<double> theta, HttpContext ctx)
    {
        if (IsLogDensityOnly(info))
        {
            var grad = await CallAsync(Protocol.Operation.Gradient, info, x, theta, null, GradientKind.LogDensityWrtX, ctx).ConfigureAwait(false);
            for (int i = 0; i < grad.Length; i++)
            {
                grad[i] *= sens[0];
            }

            return grad;
        }

        return await CallAsync(Protocol.Operation.Gradient, info, x, theta, sens, GradientKind.EvaluateVjp, ctx).ConfigureAwait(false);
    }

    private async Task<double[]> CallAsync(Protocol.Operation operation, ModelInfo info, double[] x, ReadOnlyMemory<double> theta, double[]? vector, GradientKind kind, HttpContext ctx)
    {
        var request = new MaasRequest
        {
            Operation = operation,
            Model = info.Name,
            X = DoubleMatrix.CopyOf(x, 1, x.Length),
            Theta = theta,
            Vector = vector is null ? null : DoubleMatrix.CopyOf(vector, 1, vector.Length),
            GradientKind = kind,
        };
        try
        {
            var timeout = RestEndpoints.ReadTimeout(ctx, request);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, host.ShutdownToken);
            var context = await host.Server.InvokeAsync(request, timeout, ctx.Connection.RemoteIpAddress?.ToString() ?? "unix", RestEndpoints.Credentials(ctx), linked.Token).ConfigureAwait(false);
            using var y = context.Response!.Y!;
            return y.ToArray();
        }
        finally
        {
            request.X.Dispose();
            request.Vector?.Dispose();
        }
    }

    private static UmBridgeError Translate(MaasException ex) => ex.Code switch
    {
        MaasErrorCode.InvalidArgument or MaasErrorCode.ProtocolError => new UmBridgeError("InvalidInput", ex.Message, 400),
        MaasErrorCode.NotFound => new UmBridgeError("ModelNotFound", ex.Message, 400),
        MaasErrorCode.Unsupported => new UmBridgeError("UnsupportedFeature", ex.Message, 400),
        MaasErrorCode.ModelError => new UmBridgeError("InvalidOutput", ex.Message, 500),
        _ => new UmBridgeError(ex.Code.ToString(), ex.Message, ex is SizeLimitException ? 413 : HttpStatusMapping.ToStatus(ex.Code)),
    };

    private static Task WriteErrorAsync(HttpContext ctx, UmBridgeError error) =>
        RestEndpoints.WriteJsonAsync(ctx, error.Status, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("type", error.Type);
            w.WriteString("message", error.Message);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    private sealed record Support(ModelInfo Info);

    private sealed record Sizes(string Key, int Size);

    private sealed record Output(double[] Values, bool Nested);

    private sealed class UmBridgeError(string type, string message, int status) : Exception(message)
    {
        public string Type { get; } = type;

        public int Status { get; } = status;
    }
}
