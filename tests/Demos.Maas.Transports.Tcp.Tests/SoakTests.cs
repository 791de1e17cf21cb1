using System.Diagnostics;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Tests;
using Xunit.Abstractions;

namespace Demos.Maas.Transports.Tcp.Tests;

[CollectionDefinition(nameof(SoakCollection), DisableParallelization = true)]
public sealed class SoakCollection;

/// <summary>
/// Many clients doing mixed operations against one server for a bounded time, with misbehaving
/// clients among them: every request gets one correct outcome, and the server's descriptors and
/// working set end where they started. MAAS_SOAK_SECONDS sets the length (default 60).
/// </summary>
[Collection(nameof(SoakCollection))]
public sealed class SoakTests(ITestOutputHelper output)
{
    private static readonly int Seconds = int.TryParse(Environment.GetEnvironmentVariable("MAAS_SOAK_SECONDS"), out int s) && s > 0 ? s : 60;

    [Fact]
    public async Task Mixed_load_with_misbehaving_clients_keeps_every_outcome_and_no_leak()
    {
        var options = new MaasServerOptions();
        options.Limits.WriteTimeout = TimeSpan.FromSeconds(1);
        options.Limits.FrameReadTimeout = TimeSpan.FromSeconds(1);
        options.Limits.MaxQueuedWriteBytes = 1 << 20;
        options.Limits.CloseTimeout = TimeSpan.FromSeconds(1);
        await using var server = new MaasServer(options, [new TcpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");

        long ok = 0, failed = 0, misbehaved = 0;
        async Task WellBehavedAsync(int seed, DateTime until)
        {
            var clientOptions = new MaasClientOptions();
            clientOptions.Transports.Add(new TcpTransport());
            await using var client = await MaasClient.ConnectAsync(uri, clientOptions);
            var model = await client.GetModelAsync("gaussian1d");
            var random = new Random(seed);
            for (int i = 0; i < 1_000_000 && DateTime.UtcNow < until; i++)
            {
                double x = random.NextDouble();
                try
                {
                    if (i % 3 == 2)
                    {
                        using var draws = await model.SampleMatrixAsync(100, seed: (ulong)i);
                        Assert.Equal(100, draws.Rows);
                    }
                    else
                    {
                        Assert.Equal(GaussianModel.LogDensityOf([x], [0.0], [1.0]), await model.LogDensityAsync([x]), 12);
                    }

                    Interlocked.Increment(ref ok);
                }
                catch (MaasException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }

        async Task MisbehavingAsync(int kind)
        {
            await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: kind != 2);
            switch (kind)
            {
                case 0: // Asks for big streams and never reads.
                    for (uint id = 1; id <= 16; id++)
                    {
                        await raw.SendAsync(new MaasRequest { Id = id, Operation = Operation.Sample, Model = "gaussian1d", Count = 1 << 22, ChunkRows = 1 << 15 });
                    }

                    // Not reading for twice the write timeout (the server gives up on us meanwhile;
                    // ServerLimitsTests checks that), then vanishing without reading the backlog.
                    await Task.Delay(2 * options.Limits.WriteTimeout);
                    Interlocked.Increment(ref misbehaved);
                    return;
                case 3: // Asks for streams and vanishes: the server must stop the work.
                    for (uint id = 1; id <= 4; id++)
                    {
                        await raw.SendAsync(new MaasRequest { Id = id, Operation = Operation.Sample, Model = "gaussian1d", Count = 1 << 22, ChunkRows = 1 << 15 });
                    }

                    Interlocked.Increment(ref misbehaved);
                    return;
                case 1: // Half a frame, then silence.
                    var frame = FrameCodec.EncodeFrame(new MaasRequest { Id = 1, Operation = Operation.LogDensity, Model = "gaussian1d", X = DoubleMatrix.Zeros(64, 1) });
                    await raw.WriteAsync(frame.AsMemory(0, frame.Length / 2));
                    break;
                default: // Garbage instead of a Hello.
                    await raw.WriteAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3 });
                    break;
            }

            await raw.ReadToEndAsync(); // until the server closes it
            Interlocked.Increment(ref misbehaved);
        }

        async Task RoundAsync(TimeSpan length)
        {
            var until = DateTime.UtcNow + length;
            var good = Enumerable.Range(0, 8).Select(i => WellBehavedAsync(i, until)).ToList();
            int round = 0;
            while (DateTime.UtcNow < until)
            {
                await Task.WhenAll(Enumerable.Range(0, 4).Select(MisbehavingAsync)).WaitAsync(TimeSpan.FromSeconds(60));
                round++;
            }

            await Task.WhenAll(good).WaitAsync(TimeSpan.FromSeconds(60));
        }

        // Warm up (JIT, pools, thread pool), then measure from a settled start.
        await RoundAsync(TimeSpan.FromSeconds(Math.Max(10, Seconds / 6)));
        var (fdStart, wsStart) = Measure();
        long okWarm = Interlocked.Read(ref ok);
        var clock = Stopwatch.StartNew();
        await RoundAsync(TimeSpan.FromSeconds(Seconds));
        var (fdEnd, wsEnd) = Measure();

        output.WriteLine($"soak {clock.Elapsed.TotalSeconds:0} s: {ok - okWarm} calls ok, {failed} failed, {misbehaved} misbehaving clients closed; descriptors {fdStart} -> {fdEnd}; working set {wsStart >> 20} MiB -> {wsEnd >> 20} MiB");
        Console.WriteLine($"SOAK: {ok - okWarm} calls ok, {failed} failed, {misbehaved} misbehaving; fds {fdStart}->{fdEnd}; ws {wsStart >> 20}->{wsEnd >> 20} MiB");
        Assert.Equal(0, failed);
        Assert.True(misbehaved > 0);
        Assert.True(fdEnd <= fdStart * 1.1 + 2, $"descriptors {fdStart} -> {fdEnd}");
        Assert.True(wsEnd <= wsStart * 1.1, $"working set {wsStart} -> {wsEnd}");
    }

    private static (int Descriptors, long WorkingSet) Measure()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        int fds = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0;
        using var self = Process.GetCurrentProcess();
        return (fds, self.WorkingSet64);
    }
}
