using Demos.Maas.Protocol;

namespace Demos.Maas.Server;

/// <summary>
/// The server's terminal handler: resolves the model, checks the request against the model's
/// info (so hand-written <see cref="IModel"/>s get the same argument checks as built ones), calls
/// it, and checks the shape of what it returned.
/// </summary>
internal sealed class ModelDispatcher(ModelRegistry models, Action<Guid, long> parametersChanged)
{
    private readonly UpdateLedger _updates = new();

    public async ValueTask InvokeAsync(MaasCallContext context)
    {
        var request = context.Request;
        var ct = context.CancellationToken;
        if (request.Operation == Operation.ListModels)
        {
            context.Response = new MaasResponse { Models = [.. models.All.Select(m => m.Info)] };
            return;
        }

        if (request.Operation is < Operation.ListModels or > Operation.UpdateParameters)
        {
            throw MaasException.InvalidArgument($"Unknown operation {(int)request.Operation}.");
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
                CheckChunkSize(context, info.Name, "Sample", request.ChunkRows, request.Count, info.InputDimension);
                ulong seed = request.Seed ?? FreshSeed.Next();
                context.StreamSeed = seed;
                context.Stream = CheckChunks(info, "Sample", model.SampleAsync(new SampleRequest { Count = request.Count, Seed = seed, ChunkRows = request.ChunkRows, Theta = request.Theta }, ct), info.InputDimension, request.Count, ct);
                break;
            case Operation.ListData:
                context.Response = new MaasResponse { Datasets = await model.ListDatasetsAsync(ct).ConfigureAwait(false) };
                break;
            case Operation.ReadData:
                Require(info, ModelCapabilities.Data, "ReadData");
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
                Require(info, ModelCapabilities.Parameters, "UpdateParameters");
                if (request.Update is null)
                {
                    throw MaasException.InvalidArgument($"{info.Name}.UpdateParameters: 'values' is required.");
                }

                context.Response = new MaasResponse { Parameters = await _updates.ApplyOnceAsync(model, request.Update, ct).ConfigureAwait(false) };
                parametersChanged(info.Uuid, context.Response.Parameters.Version);
                break;
            default:
                throw MaasException.InvalidArgument($"Unknown operation {(int)request.Operation}.");
        }
    }

    // A hand-written model's stream is checked like its unary results: right width, no more rows than asked.
    private static async IAsyncEnumerable<DoubleMatrix> CheckChunks(ModelInfo info, string operation, IAsyncEnumerable<DoubleMatrix> chunks, int columns, long maxRows, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        long rows = 0;
        await foreach (var chunk in chunks.WithCancellation(ct).ConfigureAwait(false))
        {
            rows += chunk.Rows;
            if (chunk.Columns != columns || rows > maxRows)
            {
                string shape = $"{chunk.Rows}x{chunk.Columns}";
                chunk.Dispose();
                throw new MaasException(MaasErrorCode.ModelError, $"{info.Name}.{operation} produced a {shape} chunk; expected {columns} columns and {maxRows} rows in all.");
            }

            yield return chunk;
        }

        if (rows != maxRows)
        {
            throw new MaasException(MaasErrorCode.ModelError, $"{info.Name}.{operation} produced {rows} rows; {maxRows} were asked for.");
        }
    }

    // The model allocates a chunk of min(chunk, n) rows: a 47-byte request must not make it ask for
    // gigabytes, so the size is checked (without overflow) against what the caller can receive.
    private static void CheckChunkSize(MaasCallContext context, string model, string operation, int chunkRows, long count, int columns)
    {
        if (chunkRows < 0)
        {
            throw MaasException.InvalidArgument($"{model}.{operation}: chunk size {chunkRows} is negative.");
        }

        long rows = Math.Min(chunkRows, count);
        long limit = context.PeerMaxFrameBytes - ChunkOverhead;
        if (rows > 0 && columns > 0 && rows > limit / sizeof(double) / columns)
        {
            long most = Math.Max(1, limit / sizeof(double) / columns);
            throw new MaasException(MaasErrorCode.ResourceExhausted, $"{model}.{operation}: chunks of {chunkRows} rows x {columns} columns do not fit the {context.PeerMaxFrameBytes}-byte frame limit; ask for at most {most} rows per chunk.");
        }
    }

    // Room in a frame for everything in a stream chunk but its values.
    private const int ChunkOverhead = 1024;

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
