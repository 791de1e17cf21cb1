using System.Collections.Concurrent;
using Demos.Maas.Client;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Pipe.Tests;

/// <summary>
/// Large matrices that arrive over a socket connection are read in place from the connection's
/// receive buffer: the model's input on the server, the answer on the client.
/// </summary>
public sealed class ReceivedViewTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Large_matrices_arrive_as_views_on_both_ends_and_small_ones_as_copies()
    {
        var model = new EchoModel(holdUntil: 1);
        await using var served = await ServedAsync(model);
        var remote = served.Remote;

        int viewRows = MessageCodec.ViewMinimumBytes / sizeof(double);
        foreach (int rows in new[] { 65_536, 8, 100_000, viewRows, viewRows - 1, 3, 300_000, 65_536 })
        {
            using var x = TestMatrices.Random(rows, 1, seed: rows);
            using var y = await remote.LogDensityAsync(x).AsTask().WaitAsync(Deadline);
            Assert.True(x.Span.SequenceEqual(y.Span), $"{rows} rows came back changed");
            bool large = rows >= viewRows;
            Assert.Equal(large, model.Inputs.TryDequeue(out var wasView) && wasView);
            Assert.Equal(large, y.IsView);
        }
    }

    [Fact]
    public async Task Views_keep_their_bytes_while_later_frames_arrive_on_the_same_connection()
    {
        // The model holds each input until four have arrived: the later frames come in while the
        // earlier inputs are still being read, and each answer is its input. A reader that
        // received into a lent buffer again would hand one caller another's points.
        const int callers = 4;
        var model = new EchoModel(holdUntil: callers);
        await using var served = await ServedAsync(model);
        var remote = served.Remote;

        for (int round = 0; round < 3; round++)
        {
            var sent = Enumerable.Range(0, callers).Select(i => TestMatrices.Random(65_536 + (i * 1_000), 1, seed: (round * 10) + i)).ToArray();
            var answers = await Task.WhenAll(sent.Select(x => remote.LogDensityAsync(x).AsTask())).WaitAsync(Deadline);

            // Hold every answer (views of the client's receive buffers) until all are checked.
            for (int i = 0; i < callers; i++)
            {
                Assert.True(answers[i].IsView);
                Assert.True(sent[i].Span.SequenceEqual(answers[i].Span), $"caller {i} of round {round} got other points");
            }

            Assert.Equal(callers, model.Inputs.Count(wasView => wasView));
            model.Inputs.Clear();
            foreach (var m in sent.Concat(answers))
            {
                m.Dispose();
            }
        }
    }


    /// <summary>The model served over a fresh Unix socket, and a client's handle on it.</summary>
    private static async Task<Served> ServedAsync(EchoModel model)
    {
        var server = new MaasServer(transports: [new PipeTransport()]);
        server.AddModel(model);
        string uri = $"pipe://{Path.Combine(Path.GetTempPath(), $"maas-test-{Guid.NewGuid():N}.sock")}";
        await server.ListenAsync(uri);
        var options = new MaasClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10) };
        options.Transports.Add(new PipeTransport());
        var client = await MaasClient.ConnectAsync(uri, options);
        return new Served(server, client, await client.GetModelAsync("echo"));
    }

    private sealed record Served(MaasServer Server, MaasClient Client, IModel Remote) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    /// <summary>log p(x) = x. Records whether each input was a view; waits until <c>holdUntil</c> inputs are in before it reads them.</summary>
    private sealed class EchoModel(int holdUntil) : ModelBase
    {
        private int _arrived;
        private TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<bool> Inputs { get; } = new();

        public override ModelInfo Info { get; } = new()
        {
            Name = "echo",
            Uuid = new Guid("5e1d0b6e-0000-4000-8000-0000000000e1"),
            InputDimension = 1,
            Capabilities = ModelCapabilities.LogDensity,
        };

        public override async ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
        {
            Inputs.Enqueue(x.IsView);
            var all = _all;
            if (Interlocked.Increment(ref _arrived) % holdUntil == 0)
            {
                _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
                all.SetResult();
            }

            await all.Task.WaitAsync(Deadline, cancellationToken);
            return DoubleMatrix.CopyOf(x.Span, x.Rows, x.Columns);
        }
    }
}
