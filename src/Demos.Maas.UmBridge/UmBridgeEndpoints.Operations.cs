using System.Text.Json;
using Demos.Maas.Protocol;
using Demos.Maas.Transports.Http;
using Microsoft.AspNetCore.Http;

namespace Demos.Maas.UmBridge;

/// <summary>The UM-Bridge operations, each mapped onto MaaS calls run by the server.</summary>
internal sealed partial class UmBridgeEndpoints
{
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
        if (Upstream(info) is { } upstream)
        {
            ReadIndex(root, "outWrt", 1);
            ReadIndex(root, "inWrt1", 1);
            ReadIndex(root, "inWrt2", 1);
            if (!root.TryGetProperty("sens", out var s) || !root.TryGetProperty("vec", out var v))
            {
                throw new UmBridgeError("InvalidInput", "'sens' and 'vec' are required.", 400);
            }

            return new Output(await upstream.ApplyHessianAsync(0, 0, 0, x, ReadVector(s, "sens"), ReadVector(v, "vec"), ctx.RequestAborted).ConfigureAwait(false), Nested: false);
        }

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
            var context = await server.InvokeAsync(request, RestEndpoints.Caller(ctx), timeout, ctx.RequestAborted).ConfigureAwait(false);
            using var y = context.Response!.Y!;
            return y.ToArray();
        }
        finally
        {
            request.X.Dispose();
            request.Vector?.Dispose();
        }
    }
}
