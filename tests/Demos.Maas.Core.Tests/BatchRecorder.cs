using Demos.Maas.Middleware;
using Demos.Maas.Models;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// The end of a pipeline behind a <see cref="DynamicBatcher"/>, for tests that drive the batcher
/// directly: records the rows and token of every call it is given, and answers y = 2x once the test
/// opens its gate (a call whose token fires stops waiting, cancelled).
/// </summary>
internal sealed class BatchRecorder
{
    private static readonly IModel Gaussian = GaussianModel.Create(1);

    private readonly Lock _lock = new();

    public List<int> Rows { get; } = [];

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the first call's token when that call arrives.</summary>
    public TaskCompletionSource<CancellationToken> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A 1-point LogDensity call of the Gaussian, as the server side of a pipeline sees it.</summary>
    public static MaasCallContext Call(double x, CancellationToken token = default) =>
        new(new MaasRequest { Operation = Operation.LogDensity, Model = "gaussian1d", X = DoubleMatrix.FromColumn(x) }, isServer: true, token)
        {
            Model = Gaussian,
        };

    public async ValueTask Next(MaasCallContext context)
    {
        var x = context.Request.X!;
        lock (_lock)
        {
            Rows.Add(x.Rows);
        }

        Entered.TrySetResult(context.CancellationToken);
        await Gate.Task.WaitAsync(context.CancellationToken);
        var y = DoubleMatrix.Rent(x.Rows, 1);
        for (int i = 0; i < x.Rows; i++)
        {
            y.Span[i] = 2 * x.Span[i];
        }

        context.Response = new MaasResponse { Y = y };
    }
}
