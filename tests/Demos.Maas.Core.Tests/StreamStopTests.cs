using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// A transport that stops sending a stream (its client went away, or a write failed) disposes the
/// stream before the end; the server then cancels the call, so the model's token fires even when the
/// transport's own cancellation has not (yet) fired.
/// </summary>
public sealed class StreamStopTests
{
    [Fact]
    public async Task Disposing_a_stream_before_its_end_cancels_the_models_token()
    {
        var blocking = new BlockingModel();
        await using var server = new MaasServer();
        server.AddModel(blocking);

        // No caller token at all: only the server can cancel this call.
        var context = await server.InvokeAsync(new MaasRequest { Id = 1, Operation = Operation.Sample, Model = "blocking", Count = long.MaxValue });
        var stream = Assert.IsAssignableFrom<IAsyncEnumerable<DoubleMatrix>>(context.Stream);
        await using (var chunks = stream.GetAsyncEnumerator())
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.True(await chunks.MoveNextAsync());
                chunks.Current.Dispose();
            }

            Assert.False(blocking.Cancelled.IsCompleted);
        }

        await blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, server.RunningCalls);
    }

    [Fact]
    public async Task A_stream_that_ends_does_not_cancel_its_call()
    {
        var sampler = new CountingSampler();
        await using var server = new MaasServer();
        server.AddModel(sampler);
        var context = await server.InvokeAsync(new MaasRequest { Id = 1, Operation = Operation.Sample, Model = "counting", Count = 3 });
        long rows = 0;
        await foreach (var chunk in context.Stream!)
        {
            rows += chunk.Rows;
            chunk.Dispose();
        }

        Assert.Equal(3, rows);
        Assert.False(sampler.TokenFired);
    }

    private sealed class CountingSampler : ModelBase
    {
        public override ModelInfo Info { get; } = new()
        {
            Name = "counting",
            Uuid = new Guid("5e1d0b6e-0000-4000-8000-0000000000c7"),
            InputDimension = 1,
            Capabilities = ModelCapabilities.Sample,
        };

        public bool TokenFired { get; private set; }

        public override async IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            // Kept past the stream's end on purpose: a cancel after the last row would be seen too.
            _ = cancellationToken.Register(() => TokenFired = true);
            for (long i = 0; i < request.Count; i++)
            {
                await Task.Yield();
                yield return DoubleMatrix.FromPoint(i);
            }
        }
    }
}
