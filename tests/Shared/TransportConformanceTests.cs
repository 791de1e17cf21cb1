using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transport;

namespace Demos.Maas.Tests;

/// <summary>
/// The behaviour every transport must show end to end: each test starts a real server
/// on the transport, connects a real client, and checks results against the in-process model.
/// </summary>
public abstract class TransportConformanceTests
{
    /// <summary>The transports the client and server use.</summary>
    protected abstract IMaasTransport[] Transports { get; }

    /// <summary>A fresh address to listen on.</summary>
    protected abstract string NewListenUri();

    /// <summary>
    /// The name of the client connection's receiving thread, where it resumes the caller of a lone
    /// call (null: the transport resumes callers elsewhere, or has no such thread).
    /// </summary>
    protected virtual string? ResumingThreadName => null;

    private protected async Task<Harness> StartAsync(Action<MaasServerOptions>? configure = null, Action<MaasClientOptions>? configureClient = null)
    {
        var options = new MaasServerOptions();
        configure?.Invoke(options);
        var blocking = new BlockingModel();
        var server = new MaasServer(options, Transports);
        foreach (var model in TestModels.Standard(blocking))
        {
            server.AddModel(model);
        }

        var uri = await server.ListenAsync(NewListenUri());
        var clientOptions = new MaasClientOptions();
        foreach (var t in Transports)
        {
            clientOptions.Transports.Add(t);
        }

        configureClient?.Invoke(clientOptions);
        var client = await MaasClient.ConnectAsync(uri, clientOptions);
        return new Harness(server, client, uri, blocking, Transports);
    }

    [Fact]
    public async Task Info_and_list_describe_the_hosted_models()
    {
        await using var h = await StartAsync();
        var models = await h.Client.ListModelsAsync();
        Assert.Equal(["blocking", "decay", "faulty", "gaussian1d", "gaussian2d"], models.Select(m => m.Name).Order().ToArray());
        var byName = await h.Client.GetModelAsync("gaussian2d");
        var byUuid = await h.Client.GetModelAsync(byName.Info.Uuid);
        Assert.Equal(byName.Info.Uuid, byUuid.Info.Uuid);
        var local = GaussianModel.Create(2).Info;
        Assert.Equal(local.Capabilities, byName.Info.Capabilities);
        Assert.Equal(local.InputDimension, byName.Info.InputDimension);
        Assert.Equal(["mu", "sigma"], byName.Info.Parameters.Select(p => p.Name).ToArray());
        Assert.Equal([1e-300, 1e-300], byName.Info.Parameters[1].Lower!.ToArray());
        Assert.Equal("f64", byName.Info.DType);
        Assert.Equal(ProtocolVersion.Current, h.Client.Server.Version);
    }

    [Fact]
    public async Task LogDensity_evaluate_and_gradients_equal_the_in_process_model()
    {
        await using var h = await StartAsync();
        var remoteGauss = await h.Client.GetModelAsync("gaussian2d");
        var localGauss = GaussianModel.Create(2);
        using var x = DoubleMatrix.FromRows([0.5, -1], [2, 3], [-0.25, 0.125]);
        double[] theta = [0.1, -0.2, 1.5, 0.5];
        await AssertSameAsync(localGauss.LogDensityAsync(x), remoteGauss.LogDensityAsync(x));
        await AssertSameAsync(localGauss.LogDensityAsync(x, theta), remoteGauss.LogDensityAsync(x, theta));
        await AssertSameAsync(localGauss.GradientAsync(GradientKind.LogDensityWrtX, x), remoteGauss.GradientAsync(GradientKind.LogDensityWrtX, x));
        await AssertSameAsync(localGauss.GradientAsync(GradientKind.LogDensityWrtTheta, x, theta: theta), remoteGauss.GradientAsync(GradientKind.LogDensityWrtTheta, x, theta: theta));

        var remoteDecay = await h.Client.GetModelAsync("decay");
        var localDecay = DecayModel.Create();
        using var ab = DoubleMatrix.FromRows([100, 0.3], [50, 0.01]);
        using var v = DoubleMatrix.FromRows([.. Enumerable.Range(0, 8).Select(k => (double)k)], [.. Enumerable.Repeat(1.0, 8)]);
        using var w = DoubleMatrix.FromRows([1, 0], [0, 1]);
        await AssertSameAsync(localDecay.EvaluateAsync(ab), remoteDecay.EvaluateAsync(ab));
        await AssertSameAsync(localDecay.EvaluateAsync(ab, new double[] { 2.5 }), remoteDecay.EvaluateAsync(ab, new double[] { 2.5 }));
        await AssertSameAsync(localDecay.GradientAsync(GradientKind.EvaluateVjp, ab, v), remoteDecay.GradientAsync(GradientKind.EvaluateVjp, ab, v));
        await AssertSameAsync(localDecay.GradientAsync(GradientKind.EvaluateJvp, ab, w), remoteDecay.GradientAsync(GradientKind.EvaluateJvp, ab, w));

        using var y = await remoteDecay.EvaluateAsync(ab);
        Assert.Equal(DecayModel.Activity(100, 0.3, 5, 3), y[0, 3], 12);
    }

    [Fact]
    public async Task Sample_is_streamed_reproducible_and_independent_of_chunk_size()
    {
        await using var h = await StartAsync();
        var remote = await h.Client.GetModelAsync("gaussian2d");
        var chunks = new List<int>();
        await foreach (var chunk in remote.SampleAsync(new SampleRequest { Count = 1000, Seed = 7, ChunkRows = 300 }))
        {
            chunks.Add(chunk.Rows);
            chunk.Dispose();
        }

        Assert.Equal([300, 300, 300, 100], chunks);
        using var a = await remote.SampleMatrixAsync(1000, seed: 7);
        using var local = await GaussianModel.Create(2).SampleMatrixAsync(1000, seed: 7);
        Assert.Equal(local.ToArray(), a.ToArray());
        using var other = await remote.SampleMatrixAsync(1000, seed: 8);
        Assert.NotEqual(a.ToArray(), other.ToArray());
        using var none = await remote.SampleMatrixAsync(0, seed: 1);
        Assert.Equal(0, none.Rows);
    }

    [Fact]
    public async Task Data_lists_and_slices()
    {
        await using var h = await StartAsync();
        var remote = await h.Client.GetModelAsync("gaussian1d");
        var local = GaussianModel.Create(1);
        var datasets = await remote.ListDatasetsAsync();
        Assert.Equal("draws", Assert.Single(datasets).Name);
        Assert.Equal(1000, datasets[0].Rows);
        using var slice = await remote.ReadDatasetMatrixAsync("draws", offset: 10, count: 25);
        using var expected = await local.ReadDatasetMatrixAsync("draws", offset: 10, count: 25);
        Assert.Equal(expected.ToArray(), slice.ToArray());
        using var all = await remote.ReadDatasetMatrixAsync("draws");
        Assert.Equal(1000, all.Rows);
        var missing = await Assert.ThrowsAsync<MaasException>(async () => await remote.ReadDatasetMatrixAsync("nope"));
        Assert.Equal(MaasErrorCode.NotFound, missing.Code);
        var outside = await Assert.ThrowsAsync<MaasException>(async () =>
        {
            await foreach (var c in remote.ReadDatasetAsync(new DataRequest { Name = "draws", Offset = 990, Count = 20 }))
            {
                c.Dispose();
            }
        });
        Assert.Equal(MaasErrorCode.InvalidArgument, outside.Code);
    }

    [Fact]
    public async Task Parameter_updates_bump_the_version_and_change_results()
    {
        await using var h = await StartAsync();
        var remote = await h.Client.GetModelAsync("gaussian1d");
        var before = await remote.GetParametersAsync();
        Assert.Equal([0.0], before["mu"]);
        var after = await remote.UpdateParametersAsync(ParameterUpdate.Of("mu", 3));
        Assert.True(after.Version > before.Version);
        Assert.Equal([3.0], after["mu"]);
        Assert.Equal(GaussianModel.LogDensityOf([3.0], [3.0], [1.0]), await remote.LogDensityAsync([3.0]), 12);
        var again = await remote.UpdateParametersAsync(ParameterUpdate.Of("sigma", 2));
        Assert.True(again.Version > after.Version);

        var bad = await Assert.ThrowsAsync<MaasException>(async () => await remote.UpdateParametersAsync(ParameterUpdate.Of("sigma", -1)));
        Assert.Equal(MaasErrorCode.InvalidArgument, bad.Code);
        var unknown = await Assert.ThrowsAsync<MaasException>(async () => await remote.UpdateParametersAsync(ParameterUpdate.Of("nope", 1)));
        Assert.Equal(MaasErrorCode.InvalidArgument, unknown.Code);
        Assert.Equal(again.Version, (await remote.GetParametersAsync()).Version);
    }

    [Fact]
    public async Task Thousand_concurrent_requests_on_one_connection_each_get_their_own_answer()
    {
        await using var h = await StartAsync();
        var remote = await h.Client.GetModelAsync("gaussian1d");
        var tasks = Enumerable.Range(0, 1000).Select(async i =>
        {
            double x = (i - 500) / 100.0;
            return (x, logp: await remote.LogDensityAsync([x]));
        }).ToArray();
        foreach (var (x, logp) in await Task.WhenAll(tasks))
        {
            Assert.Equal(GaussianModel.LogDensityOf([x], [0.0], [1.0]), logp, 12);
        }
    }

    [Fact]
    public async Task A_caller_may_block_on_another_call_where_it_resumed()
    {
        await using var h = await StartAsync();
        var remote = await h.Client.GetModelAsync("gaussian1d");

        // Code after await runs wherever the client resumes it (a pool thread, or the connection's
        // receiving thread); blocking there on another call of the same connection must get its
        // answer. Over a transport that resumes callers on its receiving thread, go on until three
        // callers did and blocked there: an answer can beat its caller to the await (it then goes on
        // where it was), and while the thread pool has work waiting the caller queues behind it.
        // (On a thread-pool thread: the test framework's synchronization context would take the
        // continuations otherwise.)
        string? receiving = ResumingThreadName;
        int calls = receiving is null ? 30 : 3000;
        var blockedOnReceiver = await Task.Run(async () =>
        {
            int onReceiver = 0;
            for (int i = 0; i < calls && onReceiver < 3; i++)
            {
                double first = await remote.LogDensityAsync([0.5]);
                if (receiving is not null && Thread.CurrentThread.Name == receiving)
                {
                    onReceiver++;
                }

                var second = remote.LogDensityAsync([1.5]).AsTask();
                Assert.True(second.Wait(TimeSpan.FromSeconds(20)), $"call {i}: the answer to a second call did not come while the first caller blocked");
                Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), first, 12);
                Assert.Equal(GaussianModel.LogDensityOf([1.5], [0.0], [1.0]), second.Result, 12);
            }

            return onReceiver;
        }).WaitAsync(TimeSpan.FromMinutes(3));

        if (receiving is not null)
        {
            Assert.True(blockedOnReceiver == 3, $"callers resumed on the receiving thread ({receiving}) {blockedOnReceiver} times in {calls} calls");
        }
    }

    [Fact]
    public async Task Large_requests_responses_and_stream_chunks_arrive_intact()
    {
        await using var h = await StartAsync();
        var remote = await h.Client.GetModelAsync("gaussian2d");
        var local = GaussianModel.Create(2);
        using var x = DoubleMatrix.Rent(40_000, 2);
        for (int i = 0; i < x.Length; i++)
        {
            x.Span[i] = Math.Cos(i * 0.001) * 4;
        }

        await AssertSameAsync(local.LogDensityAsync(x), remote.LogDensityAsync(x));
        await AssertSameAsync(local.GradientAsync(GradientKind.LogDensityWrtX, x), remote.GradientAsync(GradientKind.LogDensityWrtX, x));
        using var draws = await remote.SampleMatrixAsync(100_000, seed: 3);
        using var expected = await local.SampleMatrixAsync(100_000, seed: 3);
        Assert.Equal(expected.ToArray(), draws.ToArray());
    }

    [Fact]
    public async Task A_model_that_throws_gives_ModelError_and_the_next_call_succeeds()
    {
        await using var h = await StartAsync();
        var faulty = await h.Client.GetModelAsync("faulty");
        var error = await Assert.ThrowsAsync<MaasException>(async () => await faulty.LogDensityAsync([-1.0]));
        Assert.Equal(MaasErrorCode.ModelError, error.Code);
        Assert.Contains("boom at x = -1", error.Message);
        Assert.Equal(2.0, await faulty.LogDensityAsync([2.0]));
    }

    [Fact]
    public async Task Errors_for_unknown_models_wrong_dimensions_and_missing_capabilities()
    {
        await using var h = await StartAsync();
        var notFound = await Assert.ThrowsAsync<MaasException>(() => h.Client.GetModelAsync("no-such-model"));
        Assert.Equal(MaasErrorCode.NotFound, notFound.Code);

        var gauss = await h.Client.GetModelAsync("gaussian2d");
        using var wrong = DoubleMatrix.FromPoint(1, 2, 3);
        var dims = await Assert.ThrowsAsync<MaasException>(async () => await gauss.LogDensityAsync(wrong));
        Assert.Equal(MaasErrorCode.InvalidArgument, dims.Code);
        Assert.Contains("3 columns", dims.Message);

        var theta = await Assert.ThrowsAsync<MaasException>(async () => await gauss.LogDensityAsync([1.0, 2.0], [1.0]));
        Assert.Equal(MaasErrorCode.InvalidArgument, theta.Code);

        using var x = DoubleMatrix.FromPoint(1, 2);
        var unsupported = await Assert.ThrowsAsync<MaasException>(async () => await gauss.EvaluateAsync(x));
        Assert.Equal(MaasErrorCode.Unsupported, unsupported.Code);

        var decay = await h.Client.GetModelAsync("decay");
        using var shortV = DoubleMatrix.FromPoint(1, 2, 3);
        var vjp = await Assert.ThrowsAsync<MaasException>(async () => await decay.GradientAsync(GradientKind.EvaluateVjp, x, shortV));
        Assert.Equal(MaasErrorCode.InvalidArgument, vjp.Code);
        var noVector = await Assert.ThrowsAsync<MaasException>(async () => await decay.GradientAsync(GradientKind.EvaluateJvp, x));
        Assert.Equal(MaasErrorCode.InvalidArgument, noVector.Code);
        var readOnly = await Assert.ThrowsAsync<MaasException>(async () => await (await h.Client.GetModelAsync("faulty")).UpdateParametersAsync(ParameterUpdate.Of("a", 1)));
        Assert.Equal(MaasErrorCode.Unsupported, readOnly.Code);

        // After all of that the connection still serves.
        Assert.Equal(GaussianModel.LogDensityOf([1.0, 2.0], [0.0, 0.0], [1.0, 1.0]), await gauss.LogDensityAsync([1.0, 2.0]), 12);
    }

    [Fact]
    public async Task A_request_over_the_frame_limit_gives_ResourceExhausted_and_the_connection_survives()
    {
        await using var h = await StartAsync(o => o.MaxFrameBytes = 64 * 1024);

        // The client knows the server's limit from Welcome and refuses to send.
        var gauss = await h.Client.GetModelAsync("gaussian1d");
        using var big = DoubleMatrix.Zeros(20_000, 1);
        var local = await Assert.ThrowsAsync<MaasException>(async () => await gauss.LogDensityAsync(big));
        Assert.Equal(MaasErrorCode.ResourceExhausted, local.Code);
        Assert.Equal(-0.5 * Math.Log(2 * Math.PI), await gauss.LogDensityAsync([0.0]), 12);
    }

    [Fact]
    public async Task A_client_with_another_major_version_gets_VersionMismatch()
    {
        await using var h = await StartAsync();
        var options = new MaasClientOptions { ProtocolVersion = new ProtocolVersion(2, 0) };
        foreach (var t in Transports)
        {
            options.Transports.Add(t);
        }

        var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(h.Uri, options));
        Assert.Equal(MaasErrorCode.VersionMismatch, error.Code);
        Assert.Contains("2.0", error.Message);
    }

    [Fact]
    public async Task A_newer_minor_version_is_accepted_and_negotiated_down()
    {
        await using var h = await StartAsync();
        var options = new MaasClientOptions { ProtocolVersion = new ProtocolVersion(1, 7) };
        foreach (var t in Transports)
        {
            options.Transports.Add(t);
        }

        await using var client = await MaasClient.ConnectAsync(h.Uri, options);
        Assert.Equal(new ProtocolVersion(1, 0), client.Server.Version);
    }

    [Fact]
    public async Task Every_failure_reaches_the_client_as_the_servers_call_runner_classifies_it()
    {
        await using var h = await StartAsync();
        var faulty = await h.Client.GetModelAsync("faulty");
        var gauss = await h.Client.GetModelAsync("gaussian2d");
        using var x2 = DoubleMatrix.FromPoint(1, 2);
        using var x3 = DoubleMatrix.FromPoint(1, 2, 3);
        using var minus = DoubleMatrix.FromPoint(-1);
        var cases = new (Func<Task> OverTheTransport, MaasRequest Direct)[]
        {
            (async () => await faulty.LogDensityAsync([-1.0]), new MaasRequest { Operation = Operation.LogDensity, Model = "faulty", X = minus }),
            (() => h.Client.GetModelAsync("no-such-model"), new MaasRequest { Operation = Operation.Info, Model = "no-such-model" }),
            (async () => await gauss.EvaluateAsync(x2), new MaasRequest { Operation = Operation.Evaluate, Model = "gaussian2d", X = x2 }),
            (async () => await gauss.LogDensityAsync(x3), new MaasRequest { Operation = Operation.LogDensity, Model = "gaussian2d", X = x3 }),
        };
        foreach (var (overTheTransport, direct) in cases)
        {
            var remote = await Assert.ThrowsAsync<MaasException>(overTheTransport);
            var local = await Assert.ThrowsAsync<MaasException>(() => h.Server.InvokeAsync(direct));
            Assert.Equal((local.Code, local.Message), (remote.Code, remote.Message));
        }

        // A budget of zero has already expired: the model is not called, on any transport.
        var zero = await Assert.ThrowsAsync<MaasException>(() => h.Server.InvokeAsync(new MaasRequest { Operation = Operation.LogDensity, Model = "blocking", X = minus, TimeoutMicros = 0 }));
        Assert.Equal(MaasErrorCode.DeadlineExceeded, zero.Code);
        var expired = await Assert.ThrowsAsync<MaasException>(async () => await (await h.Client.GetModelAsync("blocking")).WithTimeout(TimeSpan.Zero).LogDensityAsync([1.0]));
        Assert.Equal(MaasErrorCode.DeadlineExceeded, expired.Code);
        Assert.False(h.Blocking.Entered.IsCompleted);
    }

    [Fact]
    public async Task A_deadline_cancels_the_model_and_gives_DeadlineExceeded()
    {
        await using var h = await StartAsync();
        // Long enough that the server surely starts the model before the deadline, on every transport.
        var blocking = (await h.Client.GetModelAsync("blocking")).WithTimeout(TimeSpan.FromSeconds(1));
        var call = blocking.LogDensityAsync([1.0]).AsTask();
        await h.Blocking.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var error = await Assert.ThrowsAsync<MaasException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(MaasErrorCode.DeadlineExceeded, error.Code);
        await h.Blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_caller_that_cancels_before_its_deadline_gets_a_cancellation_not_DeadlineExceeded()
    {
        await using var h = await StartAsync();
        var blocking = (await h.Client.GetModelAsync("blocking")).WithTimeout(TimeSpan.FromHours(1));
        using var cts = new CancellationTokenSource();
        var call = blocking.LogDensityAsync([1.0], cancellationToken: cts.Token).AsTask();
        await h.Blocking.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(cts.Token, error.CancellationToken);
        await h.Blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Cancelling_a_call_cancels_the_model_on_the_server()
    {
        await using var h = await StartAsync();
        var blocking = await h.Client.GetModelAsync("blocking");
        using var cts = new CancellationTokenSource();
        var call = blocking.LogDensityAsync([1.0], cancellationToken: cts.Token).AsTask();
        await h.Blocking.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await h.Blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1.5, await (await h.Client.GetModelAsync("faulty")).LogDensityAsync([1.5]));
    }

    [Fact]
    public async Task Stopping_to_read_a_stream_cancels_it_on_the_server()
    {
        await using var h = await StartAsync();
        var blocking = await h.Client.GetModelAsync("blocking");
        int seen = 0;
        await foreach (var chunk in blocking.SampleAsync(new SampleRequest { Count = long.MaxValue }))
        {
            chunk.Dispose();
            if (++seen == 3)
            {
                break;
            }
        }

        await h.Blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Server_shutdown_during_a_call_ends_it_with_Unavailable()
    {
        await using var h = await StartAsync(o => o.DrainTimeout = TimeSpan.FromMilliseconds(200));
        var blocking = await h.Client.GetModelAsync("blocking");
        var call = blocking.LogDensityAsync([1.0]).AsTask();
        await h.Blocking.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        await h.Server.StopAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<MaasException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        await h.Blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));

        var after = await Assert.ThrowsAsync<MaasException>(async () => await blocking.LogDensityAsync([1.0]));
        Assert.Equal(MaasErrorCode.Unavailable, after.Code);
    }

    [Fact]
    public async Task A_graceful_stop_lets_running_calls_finish()
    {
        await using var h = await StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(30));
        var gauss = await h.Client.GetModelAsync("gaussian1d");
        var calls = Enumerable.Range(0, 200).Select(i => gauss.LogDensityAsync([i / 10.0]).AsTask()).ToArray();
        await h.Server.StopAsync(CancellationToken.None);
        int ok = 0;
        foreach (var call in calls)
        {
            try
            {
                await call.WaitAsync(TimeSpan.FromSeconds(30));
                ok++;
            }
            catch (MaasException ex)
            {
                // Requests that reached the server after the stop began are refused, never lost.
                Assert.Equal(MaasErrorCode.Unavailable, ex.Code);
            }
        }

        Assert.Equal(0, h.Client.PendingCalls);
    }

    private static async Task AssertSameAsync(ValueTask<DoubleMatrix> expectedTask, ValueTask<DoubleMatrix> actualTask)
    {
        using var expected = await expectedTask;
        using var actual = await actualTask;
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Columns, actual.Columns);
        var e = expected.Span;
        var a = actual.Span;
        for (int i = 0; i < e.Length; i++)
        {
            Assert.Equal(e[i], a[i], 1e-12 * Math.Max(1, Math.Abs(e[i])));
        }
    }

    private protected sealed record Harness(MaasServer Server, MaasClient Client, Uri Uri, BlockingModel Blocking, IMaasTransport[] Transports) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }
}
