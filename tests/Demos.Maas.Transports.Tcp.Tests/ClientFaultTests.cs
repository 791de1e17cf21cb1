using Demos.Maas.Client;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Tcp.Tests;

/// <summary>Clients that vanish or give up: the server stops the work they started.</summary>
public sealed class ClientFaultTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_client_gone_mid_stream_stops_the_servers_work()
    {
        int produced = 0;
        var model = ModelBuilder.Create("sampler").WithInputDimension(1)
            .WithSampler((a, result) => { Interlocked.Increment(ref produced); result.Fill(3.0); })
            .Build();
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(model);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using (var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true))
        {
            await raw.SendAsync(new MaasRequest { Id = 1, Operation = Operation.Sample, Model = "sampler", Count = long.MaxValue / 2, ChunkRows = 1024 });
            Assert.IsType<StreamChunkMessage>(await raw.ReceiveAsync());
            Assert.Equal(1, server.RunningCalls);
        }

        await WaitUntilAsync(() => server.RunningCalls == 0);
        int after = Volatile.Read(ref produced);
        await WaitUntilAsync(() => server.RunningCalls == 0);
        Assert.Equal(after, Volatile.Read(ref produced));
    }

    [Fact]
    public async Task A_slow_call_past_its_deadline_ends_with_DeadlineExceeded_and_frees_the_server()
    {
        var blocking = new BlockingModel();
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(blocking);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        var options = new MaasClientOptions { Retry = null };
        options.Transports.Add(new TcpTransport());
        await using var client = await MaasClient.ConnectAsync(uri, options);

        // The deadline is the slow call's only: a first info call on a busy machine (cold code,
        // test assemblies running beside this one) may itself take longer than 200 ms.
        var model = (await client.GetModelAsync("blocking")).WithTimeout(TimeSpan.FromMilliseconds(200));
        var error = await Assert.ThrowsAsync<MaasException>(async () => await model.LogDensityAsync([1.0]));
        Assert.Equal(MaasErrorCode.DeadlineExceeded, error.Code);
        await WaitUntilAsync(() => server.RunningCalls == 0);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var guard = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, guard.Token);
        }
    }
}
