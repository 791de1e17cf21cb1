using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Tests;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Demos.Maas.Transports.Tcp.Tests;

/// <summary>Each test reproduces one way a slow, broken or hostile client could take the server down.</summary>
public sealed class ServerLimitsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Accept_loop_retries_out_of_descriptors_and_reports_the_listener_down_meanwhile()
    {
        var listener = new FlakyListener();
        var limits = new ServerLimits { AcceptRetryDelay = TimeSpan.FromMilliseconds(1), AcceptRetryMaxDelay = TimeSpan.FromMilliseconds(4) };
        var served = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = new AcceptLoop(listener, c => { served.TrySetResult(); return c.DisposeAsync().AsTask(); }, limits, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);

        await listener.Failing.Task.WaitAsync(Bound);
        Assert.False(loop.IsAccepting);
        Assert.False(run.IsCompleted);

        listener.Recover();
        await served.Task.WaitAsync(Bound);
        Assert.True(loop.IsAccepting);
        Assert.True(loop.TransientFailures >= 1);
        await stop.CancelAsync();
        await run.WaitAsync(Bound);
        Assert.False(loop.IsAccepting);
    }

    [Fact]
    public async Task A_client_that_never_reads_pins_a_bounded_number_of_chunks_and_is_closed_after_the_write_timeout()
    {
        int produced = 0;
        var model = ModelBuilder.Create("sampler").WithInputDimension(1)
            .WithSampler((a, result) => { Interlocked.Increment(ref produced); result.Fill(1.0); })
            .Build();
        var options = new MaasServerOptions();
        options.Limits.MaxQueuedWriteBytes = 1 << 20;
        options.Limits.WriteTimeout = TimeSpan.FromSeconds(3);
        using var stalled = new LogSignal("within the write timeout");
        await using var server = new MaasServer(options, [new TcpTransport()], stalled);
        server.AddModel(model);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true);

        // 128 streams of 64 Ki-row (512 KiB) chunks, none read: unbounded, each stream would pin at least one chunk.
        const int Streams = 128;
        for (uint id = 1; id <= Streams; id++)
        {
            await raw.SendAsync(new MaasRequest { Id = id, Operation = Operation.Sample, Model = "sampler", Count = 1 << 24, ChunkRows = 1 << 16, Seed = id });
        }

        // The server gives up on the connection after the write timeout; reading now drains what it sent and then sees the close.
        await stalled.Seen.Task.WaitAsync(Bound);
        int computed = Volatile.Read(ref produced);
        await raw.ReadToEndAsync().WaitAsync(Bound);
        Assert.True(computed < Streams / 2, $"{computed} chunks were computed for a client that read none");
    }

    [Fact]
    public async Task Graceful_stop_with_a_client_that_never_reads_ends_after_the_close_timeout()
    {
        var model = ModelBuilder.Create("sampler").WithInputDimension(1).WithSampler((a, result) => result.Fill(2.0)).Build();
        var options = new MaasServerOptions { DrainTimeout = TimeSpan.FromMilliseconds(200) };
        options.Limits.WriteTimeout = TimeSpan.FromHours(1);
        options.Limits.CloseTimeout = TimeSpan.FromMilliseconds(200);
        var server = new MaasServer(options, [new TcpTransport()]);
        server.AddModel(model);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true);
        for (uint id = 1; id <= 8; id++)
        {
            await raw.SendAsync(new MaasRequest { Id = id, Operation = Operation.Sample, Model = "sampler", Count = 1 << 26, ChunkRows = 1 << 16, Seed = id });
        }

        await WaitUntilAsync(() => server.RunningCalls > 0);
        await server.DisposeAsync().AsTask().WaitAsync(Bound);
    }

    [Fact]
    public async Task Before_the_handshake_a_frame_over_the_hello_limit_closes_the_connection()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: false);
        var hello = FrameCodec.EncodeFrame(new HelloMessage { Agent = "big" });
        var header = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header, 60 << 20);
        await raw.WriteAsync(header);
        await raw.WriteAsync(hello.AsMemory(4));
        var error = Assert.IsType<ErrorMessage>(await raw.ReceiveAsync());
        Assert.Equal(MaasErrorCode.ProtocolError, error.Code);
        Assert.Contains("before the handshake", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_over_the_per_address_cap_are_closed_at_once()
    {
        var options = new MaasServerOptions();
        options.Limits.MaxConnectionsPerAddress = 2;
        await using var server = new MaasServer(options, [new TcpTransport()]);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var first = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true);
        await using var second = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true);
        await using var third = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: false);
        try
        {
            await third.SendAsync(new HelloMessage { Agent = "third" });
        }
        catch (IOException)
        {
            // Already closed: also a refusal.
        }

        Assert.Empty(await third.ReadToEndAsync());
    }

    [Fact]
    public async Task A_sample_chunk_larger_than_the_clients_frame_limit_is_refused_before_anything_is_computed()
    {
        int produced = 0;
        var model = ModelBuilder.Create("sampler").WithInputDimension(2)
            .WithSampler((a, result) => Interlocked.Increment(ref produced))
            .Build();
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(model);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: false);
        await raw.SendAsync(new HelloMessage { Agent = "raw", MaxFrameBytes = 1 << 20 });
        Assert.IsType<WelcomeMessage>(await raw.ReceiveAsync());
        foreach (int chunk in new[] { 1 << 30, Array.MaxLength, int.MaxValue })
        {
            await raw.SendAsync(new MaasRequest { Id = 1, Operation = Operation.Sample, Model = "sampler", Count = long.MaxValue, ChunkRows = chunk });
            var error = Assert.IsType<ErrorMessage>(await raw.ReceiveAsync());
            Assert.Equal(MaasErrorCode.ResourceExhausted, error.Code);
        }

        Assert.Equal(0, produced);
    }

    [Fact]
    public async Task ReadData_with_a_count_that_overflows_the_range_check_is_an_invalid_argument()
    {
        var model = ModelBuilder.Create("data").WithInputDimension(1).WithDataset("d", DoubleMatrix.FromColumn(1, 2, 3)).Build();
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(model);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true);
        await raw.SendAsync(new MaasRequest { Id = 7, Operation = Operation.ReadData, Model = "data", Dataset = "d", Offset = 1, Count = long.MaxValue });
        var error = Assert.IsType<ErrorMessage>(await raw.ReceiveAsync());
        Assert.Equal(7u, error.Id);
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
    }

    [Fact]
    public void A_ragged_json_matrix_is_refused_before_it_is_sized_from_its_first_row()
    {
        var body = new StringBuilder("[[").Append(string.Join(',', Enumerable.Repeat("1", 2000))).Append(']');
        body.Insert(body.Length, ",[]", 100_000).Append(']');
        using var document = JsonDocument.Parse(body.ToString());
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<MaasException>(() => MaasJson.ReadMatrix(document.RootElement, "x"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
        Assert.True(allocated < 16 << 20, $"{allocated} bytes allocated for a refused body");
    }

    [Theory]
    [InlineData(100)]
    [InlineData(400_000)] // 3 MB: megabytes into it the server awaits the rest in large reads
    public async Task A_client_that_stalls_inside_a_frame_is_closed_after_the_frame_read_timeout(int rows)
    {
        await using var h = await StartWithFrameReadTimeoutAsync(TimeSpan.FromMilliseconds(300));
        var frame = FrameCodec.EncodeFrame(new MaasRequest { Id = 1, Operation = Operation.LogDensity, Model = "gaussian1d", X = DoubleMatrix.Zeros(rows, 1) });
        await h.Raw.WriteAsync(frame.AsMemory(0, frame.Length / 2));
        Assert.Empty(await h.Raw.ReadToEndAsync());
    }

    [Fact]
    public async Task A_large_frame_that_arrives_slowly_but_steadily_is_served_though_it_takes_longer_than_the_frame_read_timeout()
    {
        // The timeout bounds how long a step of the frame (1 MiB, or the rest) may take, not the
        // whole frame: a 12 MiB request over a slow link is not cut off.
        var timeout = TimeSpan.FromSeconds(4);
        await using var h = await StartWithFrameReadTimeoutAsync(timeout);
        int rows = 12 * 1024 * 1024 / sizeof(double);
        var frame = FrameCodec.EncodeFrame(new MaasRequest { Id = 1, Operation = Operation.LogDensity, Model = "gaussian1d", X = DoubleMatrix.Zeros(rows, 1) });
        const int Piece = 128 * 1024;
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (int offset = 0; offset < frame.Length; offset += Piece)
        {
            await h.Raw.WriteAsync(frame.AsMemory(offset, Math.Min(Piece, frame.Length - offset)));
            await Task.Delay(50);
        }

        // 96 pieces with a pause of 50 ms after each: longer than the timeout, whatever the machine.
        Assert.True(started.Elapsed > timeout);
        var answer = Assert.IsType<MaasResponse>(await h.Raw.ReceiveAsync());
        Assert.Equal(1u, answer.Id);
        Assert.Equal(rows, answer.Y!.Rows);
        Assert.Equal(Demos.Maas.Models.GaussianModel.LogDensityOf([0.0], [0.0], [1.0]), answer.Y.Span[rows - 1]);
    }

    [Fact]
    public async Task A_connection_with_nothing_in_flight_is_closed_after_the_idle_timeout()
    {
        var options = new MaasServerOptions();
        options.Limits.IdleTimeout = TimeSpan.FromMilliseconds(300);
        await using var server = new MaasServer(options, [new TcpTransport()]);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true);
        Assert.Empty(await raw.ReadToEndAsync());
    }

    /// <summary>A TCP server of gaussian1d with the given frame read timeout, and a raw connection to it past the handshake.</summary>
    private static async Task<RawHarness> StartWithFrameReadTimeoutAsync(TimeSpan timeout)
    {
        var options = new MaasServerOptions();
        options.Limits.FrameReadTimeout = timeout;
        var server = new MaasServer(options, [new TcpTransport()]);
        server.AddModel(Demos.Maas.Models.GaussianModel.Create(1));
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        return new RawHarness(server, await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: true));
    }

    private sealed record RawHarness(MaasServer Server, RawConnection Raw) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Raw.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var guard = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, guard.Token);
        }
    }

    /// <summary>Fails to accept with EMFILE until <see cref="Recover"/>, then hands out one connection.</summary>
    private sealed class FlakyListener : IMaasListener
    {
        private readonly TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _handedOut;

        public TaskCompletionSource Failing { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Uri Uri { get; } = new("tcp://127.0.0.1:1");

        public void Recover() => _recovered.TrySetResult();

        public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            if (!_recovered.Task.IsCompleted)
            {
                Failing.TrySetResult();
                throw new SocketException(24); // EMFILE: too many open files
            }

            if (Interlocked.Exchange(ref _handedOut, 1) == 0)
            {
                return new StreamConnection(new MemoryStream(), "flaky");
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            return null;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
