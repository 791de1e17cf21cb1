using System.Buffers;
using System.Text.Json;
using Demos.Maas.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

using Demos.Maas.Server;
using Demos.Maas.Transports.Http;
using Microsoft.AspNetCore.Routing;

namespace Demos.Maas.UmBridge;

/// <summary>
/// The UM-Bridge 1.0 routes at the root (docs/http.md §UM-Bridge). A hosted model with Evaluate is a
/// UM-Bridge model with one input vector (its <c>input_dim</c>) and one output vector
/// (<c>output_dim</c>); a model with only LogDensity is one whose single output is the scalar
/// log-density. <c>config</c> entries named like model parameters are that call's parameter values
/// (theta); other config keys are ignored. Every call runs through <see cref="MaasServer.InvokeAsync"/>.
/// </summary>
internal sealed partial class UmBridgeEndpoints(MaasServer server)
{
    public void Map(IEndpointRouteBuilder app)
    {
        // Delegates of instance methods are made here once: written in the routes' lambdas, each
        // request would make its own.
        Func<ReadOnlySequence<byte>, RequestBody> document = bytes => ReadBody(bytes, quickEvaluate: false), evaluateBody = bytes => ReadBody(bytes, quickEvaluate: true);
        RouteOperation evaluate = EvaluateAsync, gradient = GradientAsync, jacobian = ApplyJacobianAsync, hessian = ApplyHessianAsync;
        Func<ModelInfo, bool> supportsHessian = SupportsHessian;
        app.MapGet("/Info", new RequestDelegate(InfoAsync));
        app.MapPost("/ModelInfo", new RequestDelegate(ctx => HandleAsync(ctx, document, needsInput: false, ModelInfoAsync)));
        app.MapPost("/InputSizes", new RequestDelegate(ctx => HandleAsync(ctx, document, needsInput: false, InputSizesAsync)));
        app.MapPost("/OutputSizes", new RequestDelegate(ctx => HandleAsync(ctx, document, needsInput: false, OutputSizesAsync)));
        app.MapPost("/Evaluate", new RequestDelegate(ctx => HandleAsync(ctx, evaluateBody, needsInput: true, evaluate)));
        app.MapPost("/Gradient", new RequestDelegate(ctx => HandleAsync(ctx, document, needsInput: true, gradient, SupportsGradient, "Gradient")));
        app.MapPost("/ApplyJacobian", new RequestDelegate(ctx => HandleAsync(ctx, document, needsInput: true, jacobian, SupportsJacobian, "ApplyJacobian")));
        app.MapPost("/ApplyHessian", new RequestDelegate(ctx => HandleAsync(ctx, document, needsInput: true, hessian, supportsHessian, "ApplyHessian")));
    }

    /// <summary>A route's operation on a request read into a document: its answer, written by <see cref="WriteResult"/>.</summary>
    private delegate Task<object> RouteOperation(ModelInfo info, double[] x, JsonElement root, ReadOnlyMemory<double> theta, HttpContext ctx);

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
    private bool SupportsHessian(ModelInfo info) =>
        Upstream(info) is { } upstream ? upstream.SupportsApplyHessian : SupportsGradient(info) && OutputSize(info) == info.InputDimension;

    // A hosted UM-Bridge model with one input and one output block: its own server answers
    // ApplyHessian exactly, so the route forwards to it and advertises only what it supports.
    private UmBridgeModel? Upstream(ModelInfo info) =>
        server.Models.TryResolve(info.Name) is UmBridgeModel { InputSizes.Count: 1, OutputSizes.Count: 1 } upstream ? upstream : null;

    private static bool SupportsGradient(ModelInfo info) => IsLogDensityOnly(info) ? info.Has(ModelCapabilities.GradientX) : info.Has(ModelCapabilities.EvaluateVjp);

    private static bool SupportsJacobian(ModelInfo info) => IsLogDensityOnly(info) ? info.Has(ModelCapabilities.GradientX) : info.Has(ModelCapabilities.EvaluateJvp);

    private async Task InfoAsync(HttpContext ctx)
    {
        try
        {
            var context = await server.InvokeAsync(new MaasRequest { Operation = Protocol.Operation.ListModels }, RestEndpoints.Caller(ctx), cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
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
    }

    private async Task HandleAsync(HttpContext ctx, Func<ReadOnlySequence<byte>, RequestBody> read, bool needsInput, RouteOperation operation, Func<ModelInfo, bool>? supported = null, string? feature = null)
    {
        try
        {
            var body = await HttpBody.ReadAsync(ctx.Request, read, ctx.RequestAborted).ConfigureAwait(false);
            if (body.Quick is { } quick)
            {
                using (quick.X)
                {
                    await EvaluateQuickAsync(ctx, quick).ConfigureAwait(false);
                }
            }
            else
            {
                using var document = body.Document!;
                await AnswerAsync(ctx, document.RootElement, needsInput, operation, supported, feature).ConfigureAwait(false);
            }
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
            await WriteErrorAsync(ctx, new UmBridgeError("InvalidOutput", $"The model failed: {ex.Message}", 500)).ConfigureAwait(false);
        }
    }

    // The general path, in a method of its own: the answer's lambda would otherwise make its
    // closure for every request, short ones included.
    private async Task AnswerAsync(HttpContext ctx, JsonElement root, bool needsInput, RouteOperation operation, Func<ModelInfo, bool>? supported, string? feature)
    {
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

    private void WriteResult(Utf8JsonWriter w, object result)
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

    private async Task<ModelInfo> ResolveAsync(string name, HttpContext ctx)
    {
        // Through the pipeline, so a caller the server's authorization does not allow to see the model gets the same answer as for an absent one.
        ModelInfo? info;
        try
        {
            var context = await server.InvokeAsync(new MaasRequest { Operation = Protocol.Operation.Info, Model = name }, RestEndpoints.Caller(ctx), cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
            info = context.Response?.Info;
        }
        catch (MaasException ex) when (ex.Code == MaasErrorCode.NotFound)
        {
            info = null;
        }

        if (info is null || !IsServed(info))
        {
            throw ModelNotFound(name);
        }

        return info;
    }

    private static UmBridgeError ModelNotFound(string name) => new("ModelNotFound", $"Model name '{name}' not found on this server.", 400);

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

        var current = await server.InvokeAsync(new MaasRequest { Operation = Protocol.Operation.GetParameters, Model = info.Name }, RestEndpoints.Caller(ctx), cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
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
