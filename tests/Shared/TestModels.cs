using System.Runtime.CompilerServices;
using Demos.Maas.Models;

namespace Demos.Maas.Tests;

/// <summary>Models with failure modes, for the conformance suite.</summary>
internal static class TestModels
{
    /// <summary>LogDensity returns x itself; throws "boom at x = ..." for negative x (a model bug).</summary>
    public static IModel Faulty() => ModelBuilder.Create("faulty")
        .WithInputDimension(1)
        .WithLogDensity((a, result) =>
        {
            for (int i = 0; i < a.Rows; i++)
            {
                if (a.X[i] < 0)
                {
                    throw new InvalidOperationException($"boom at x = {a.X[i]}");
                }

                result[i] = a.X[i];
            }
        })
        .Build();

    /// <summary>The models every conformance test hosts.</summary>
    public static IModel[] Standard(BlockingModel blocking) =>
        [GaussianModel.Create(1), GaussianModel.Create(2), DecayModel.Create(), Faulty(), blocking];
}

/// <summary>A model whose LogDensity waits until its token is cancelled, and records that it was.</summary>
internal sealed class BlockingModel : ModelBase
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override ModelInfo Info { get; } = new()
    {
        Name = "blocking",
        Uuid = new Guid("5e1d0b6e-0000-4000-8000-000000000001"),
        InputDimension = 1,
        Capabilities = ModelCapabilities.LogDensity | ModelCapabilities.Sample,
    };

    /// <summary>Completes when a call started.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Completes when a running call's token fired.</summary>
    public Task Cancelled => _cancelled.Task;

    public override async ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        _entered.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _cancelled.TrySetResult();
            throw;
        }

        throw new InvalidOperationException("unreachable");
    }

    // An endless stream: one row per chunk until cancelled.
    public override async IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _entered.TrySetResult();

        // A consumer that stops pulling (its client went away) leaves this iterator parked at its yield, where no catch
        // can run: the token's own callback records that the call was cancelled. Parked in the delay instead, the
        // iterator can be resumed by the delay's cancellation on another thread and dispose the registration
        // before the cancelling thread reached its callback: the finally records it then.
        using var cancelled = cancellationToken.Register(() => _cancelled.TrySetResult());
        try
        {
            for (long i = 0; ; i++)
            {
                await Task.Delay(1, cancellationToken);
                yield return DoubleMatrix.FromPoint(i);
            }
        }
        finally
        {
            if (cancellationToken.IsCancellationRequested)
            {
                _cancelled.TrySetResult();
            }
        }
    }
}
