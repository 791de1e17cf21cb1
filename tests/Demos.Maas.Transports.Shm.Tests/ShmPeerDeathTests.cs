using Demos.Maas.Cli.Tests;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Shm.Tests;

/// <summary>
/// A model that `maas serve --assembly` hosts from this test assembly: each call writes a marker
/// file named after the serving process, then waits until it is cancelled.
/// </summary>
public sealed class ShmSlowModel : ModelBase
{
    public override ModelInfo Info { get; } = new()
    {
        Name = "shm-slow",
        Uuid = new Guid("9a3c2f10-5d4e-4b7a-8c21-000000000013"),
        InputDimension = 1,
        Capabilities = ModelCapabilities.LogDensity,
    };

    public static string MarkerOf(int processId) => Path.Combine(Path.GetTempPath(), $"maas-shm-slow-{processId}.started");

    public override async ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
    {
        await File.WriteAllTextAsync(MarkerOf(Environment.ProcessId), "started", CancellationToken.None);
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new OperationCanceledException(cancellationToken);
    }
}

/// <summary>Real processes killed with SIGKILL while the other side waits on the rings.</summary>
public sealed class ShmPeerDeathTests
{
    [Fact]
    public async Task A_server_killed_during_a_call_ends_the_waiting_call_with_Unavailable_before_its_deadline()
    {
        string socket = Path.Combine(Path.GetTempPath(), $"maas-shm-kill-{Guid.NewGuid():N}.sock");
        string uri = $"shm://{socket}";
        await using var server = MaasProcess.Start("serve", "--listen", uri, "--assembly", typeof(ShmSlowModel).Assembly.Location, "--log-level", "Warning");
        string marker = ShmSlowModel.MarkerOf(server.Id);
        try
        {
            await WaitForAsync(() => File.Exists(socket), server);
            await using var client = await MaasClient.ConnectAsync(uri, ShmTransportTests.Options());
            var model = await client.GetModelAsync("shm-slow");

            // A deadline far beyond the test: the call must end because the server died, not because time ran out.
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            var call = model.LogDensityAsync(DoubleMatrix.FromRows([[1.0]]), cancellationToken: deadline.Token).AsTask();
            await WaitForAsync(() => File.Exists(marker), server);
            Assert.False(call.IsCompleted);

            server.Signal("KILL");
            var error = await Assert.ThrowsAsync<MaasException>(() => call);
            Assert.Equal(MaasErrorCode.Unavailable, error.Code);
            Assert.False(deadline.IsCancellationRequested);

            // The next call on the dead connection fails the same way, at once.
            var next = await Assert.ThrowsAsync<MaasException>(() => model.LogDensityAsync(DoubleMatrix.FromRows([[1.0]])).AsTask());
            Assert.Equal(MaasErrorCode.Unavailable, next.Code);
        }
        finally
        {
            File.Delete(marker);
            File.Delete(socket);
        }
    }

    [Fact]
    public async Task A_client_killed_during_a_call_cancels_it_and_the_server_cleans_up_and_keeps_serving()
    {
        var blocking = new BlockingModel();
        string uri = ShmUris.New("maas-shm-kill");
        string rings = ShmTransportTests.NewRingDirectory();
        await using var server = new MaasServer(transports: [new ShmTransport(new ShmTransportOptions { RingDirectory = rings })]);
        server.AddModel(blocking).AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);

        await using (var caller = MaasProcess.StartWithInput("{\"x\": [[1.0]]}", "call", uri, "blocking", "logdensity"))
        {
            await blocking.Entered.WaitAsync(TimeSpan.FromMinutes(2));
            caller.Signal("KILL");
            await caller.WaitForExitAsync(TimeSpan.FromMinutes(1));

            // The server saw the peer go (socket end of stream) and cancelled the call it was running.
            await blocking.Cancelled.WaitAsync(TimeSpan.FromMinutes(2));
        }

        Assert.Empty(ShmTransportTests.RingFiles(rings));
        await using var client = await MaasClient.ConnectAsync(uri, ShmTransportTests.Options());
        var model = await client.GetModelAsync("gaussian1d");
        Assert.Equal(1, (await model.LogDensityAsync(DoubleMatrix.FromRows([[0.5]]))).Rows);
        Assert.Empty(ShmTransportTests.RingFiles(rings));
        Directory.Delete(rings);
    }

    private static async Task WaitForAsync(Func<bool> condition, MaasProcess process)
    {
        for (int i = 0; i < 6000 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        Assert.True(condition(), $"timed out. stdout:\n{process.Stdout}\nstderr:\n{process.Stderr}");
    }
}
