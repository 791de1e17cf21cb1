using System.Security.Cryptography;
using Demos.Maas.Protocol;

namespace Demos.Maas.Server;

/// <summary>
/// The server's terminal handler: resolves the model, checks the request against the model's
/// info (so hand-written <see cref="IModel"/>s get the same argument checks as built ones), calls
/// it, and checks the shape of what it returned.
/// </summary>
internal sealed class ModelDispatcher(ModelRegistry models)
{
    public async ValueTask InvokeAsync(MaasCallContext context)
    {
        var request = context.Request;
        var ct = context.CancellationToken;
        if (request.Operation == Operation.ListModels)
        {
            context.Response = new MaasResponse { Models = [.. models.All.Select(m => m.Info)] };
            return;
        }

        var model = context.Model ??= models.Resolve(request.Model);
        var info = model.Info;
        switch (request.Operation)
        {
            case Operation.Info:
                context.Response = new MaasResponse { Info = info };
                break;
            case Operation.Evaluate:
                Require(info, ModelCapabilities.Evaluate, "Evaluate");
                ModelArguments.CheckColumns(info, "Evaluate", "x", request.X, info.InputDimension);
                ModelArguments.CheckTheta(info, request.Theta.Span);
                context.Response = new MaasResponse { Y = CheckResult(info, "Evaluate", await model.EvaluateAsync(request.X!, request.Theta, ct).ConfigureAwait(false), request.X!.Rows, info.OutputDimension) };
                break;
            case Operation.LogDensity:
                Require(info, ModelCapabilities.LogDensity, "LogDensity");
                ModelArguments.CheckColumns(info, "LogDensity", "x", request.X, info.InputDimension);
                ModelArguments.CheckTheta(info, request.Theta.Span);
                context.Response = new MaasResponse { Y = CheckResult(info, "LogDensity", await model.LogDensityAsync(request.X!, request.Theta, ct).ConfigureAwait(false), request.X!.Rows, 1) };
                break;
            case Operation.Gradient:
                Require(info, ModelArguments.GradientCapability(request.GradientKind), $"Gradient({request.GradientKind})");
                if (request.X is null)
                {
                    throw MaasException.InvalidArgument($"{info.Name}.Gradient: 'x' is required.");
                }

                ModelArguments.CheckGradient(info, request.GradientKind, request.X, request.Vector);
                ModelArguments.CheckTheta(info, request.Theta.Span);
                var gradient = await model.GradientAsync(request.GradientKind, request.X, request.Vector, request.Theta, ct).ConfigureAwait(false);
                context.Response = new MaasResponse { Y = CheckResult(info, "Gradient", gradient, request.X.Rows, ModelArguments.GradientColumns(info, request.GradientKind)) };
                break;
            case Operation.Sample:
                Require(info, ModelCapabilities.Sample, "Sample");
                if (request.Count < 0)
                {
                    throw MaasException.InvalidArgument($"{info.Name}.Sample: 'n' (the number of draws) is required.");
                }

                ModelArguments.CheckTheta(info, request.Theta.Span);
                ulong seed = request.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
                context.StreamSeed = seed;
                context.Stream = model.SampleAsync(new SampleRequest { Count = request.Count, Seed = seed, ChunkRows = request.ChunkRows, Theta = request.Theta }, ct);
                break;
            case Operation.ListData:
                context.Response = new MaasResponse { Datasets = await model.ListDatasetsAsync(ct).ConfigureAwait(false) };
                break;
            case Operation.ReadData:
                if (string.IsNullOrEmpty(request.Dataset))
                {
                    throw MaasException.InvalidArgument($"{info.Name}.ReadData: 'dataset' is required.");
                }

                context.Stream = model.ReadDatasetAsync(new DataRequest { Name = request.Dataset, Offset = request.Offset, Count = request.Count, ChunkRows = request.ChunkRows }, ct);
                break;
            case Operation.GetParameters:
                context.Response = new MaasResponse { Parameters = await model.GetParametersAsync(ct).ConfigureAwait(false) };
                break;
            case Operation.UpdateParameters:
                if (request.Update is null)
                {
                    throw MaasException.InvalidArgument($"{info.Name}.UpdateParameters: 'values' is required.");
                }

                context.Response = new MaasResponse { Parameters = await model.UpdateParametersAsync(request.Update, ct).ConfigureAwait(false) };
                break;
            default:
                throw MaasException.InvalidArgument($"Unknown operation {(int)request.Operation}.");
        }
    }

    private static void Require(ModelInfo info, ModelCapabilities capability, string operation)
    {
        if (!info.Has(capability))
        {
            throw MaasException.Unsupported(info.Name, operation);
        }
    }

    private static DoubleMatrix CheckResult(ModelInfo info, string operation, DoubleMatrix result, int rows, int columns)
    {
        if (result.Rows != rows || result.Columns != columns)
        {
            string shape = $"{result.Rows}x{result.Columns}";
            result.Dispose();
            throw new MaasException(MaasErrorCode.ModelError, $"{info.Name}.{operation} returned {shape}; expected {rows}x{columns}.");
        }

        return result;
    }
}
