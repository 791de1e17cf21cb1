using Demos.Maas.Client;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Tcp.Tests;

/// <summary>
/// Large matrices over tcp://: sent from their own memory, read in place on arrival (the model's
/// input on the server, the answer on the client), and the same values on both ends.
/// </summary>
public sealed class LargeMatrixTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Large_inputs_and_answers_cross_tcp_unchanged_and_arrive_as_views()
    {
        int views = 0;
        var model = ModelBuilder.Create("negate").WithInputDimension(2)
            .WithEvaluate(2, (a, result) =>
            {
                for (int i = 0; i < a.X.Length; i++)
                {
                    result[i] = -a.X[i];
                }
            })
            .Build();
        var recording = new RecordingModel(model, () => Interlocked.Increment(ref views));
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(recording);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        var options = new MaasClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10) };
        options.Transports.Add(new TcpTransport());
        await using var client = await MaasClient.ConnectAsync(uri, options);
        var remote = await client.GetModelAsync("negate");

        int[] sizes = [50_000, 3, 200_000, 4_096, 50_000];
        var sent = sizes.Select((rows, k) => TestMatrices.Random(rows, 2, seed: k, offset: -0.5)).ToArray();
        var answers = await Task.WhenAll(sent.Select(x => remote.EvaluateAsync(x).AsTask())).WaitAsync(Deadline);
        for (int k = 0; k < sizes.Length; k++)
        {
            bool large = (long)sizes[k] * 2 * sizeof(double) >= MessageCodec.ViewMinimumBytes;
            Assert.Equal(large, answers[k].IsView);
            Assert.Equal(sizes[k] * 2, answers[k].Length);
            for (int i = 0; i < answers[k].Length; i++)
            {
                Assert.Equal(-sent[k].Span[i], answers[k].Span[i]);
            }
        }

        Assert.Equal(sizes.Count(rows => (long)rows * 2 * sizeof(double) >= MessageCodec.ViewMinimumBytes), views);
        foreach (var m in sent.Concat(answers))
        {
            m.Dispose();
        }
    }


    /// <summary>Counts inputs that are views of the received bytes, then calls the model.</summary>
    private sealed class RecordingModel(IModel inner, Action view) : ModelBase
    {
        public override ModelInfo Info => inner.Info;

        public override ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
        {
            if (x.IsView)
            {
                view();
            }

            return inner.EvaluateAsync(x, theta, cancellationToken);
        }
    }
}
