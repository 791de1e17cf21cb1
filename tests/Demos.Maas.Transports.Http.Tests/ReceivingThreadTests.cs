using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>
/// The http:// client reads its answers on a receiving thread per connection: which thread a caller
/// resumes on, that a caller may block there without a deadlock, and that the socket stays out of
/// the runtime's epoll thread.
/// </summary>
/// <remarks>
/// Past <see cref="SocketConnections.MaxReceivingThreads"/> receiving threads a process's new
/// connections read through the runtime's sockets instead, so these tests run alone, after the
/// other tests (whose idle connections' threads end by themselves).
/// </remarks>
[Collection(nameof(ReceivingThreadTests))]
public sealed class ReceivingThreadTests
{
    private const string ReceivingThread = "maas socket receive";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_caller_resumes_on_the_thread_that_read_its_answer(bool inlineCompletions)
    {
        await using var server = await StartAsync();
        await using var client = await MaasClient.ConnectAsync(server.Uri, Options(inline: inlineCompletions, connections: 1));
        var model = await client.GetModelAsync("gaussian1d").ConfigureAwait(false);

        // Where HttpClient itself moves a request to the pool (waiting for a connection, say) and the
        // answer is in before it looks, the caller goes on there: so most calls, not all, are counted.
        int onReceivingThread = 0;
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(GaussianModel.LogDensityOf([0.25 * i], [0.0], [1.0]), await model.LogDensityAsync([0.25 * i]).ConfigureAwait(false), 12);
            onReceivingThread += Thread.CurrentThread.Name == ReceivingThread ? 1 : 0;
        }

        int chunks = 0;
        await foreach (var chunk in model.SampleAsync(new SampleRequest { Count = 40, Seed = 3, ChunkRows = 10 }).ConfigureAwait(false))
        {
            Assert.Equal(10, chunk.Rows);
            chunks++;
            onReceivingThread += Thread.CurrentThread.Name == ReceivingThread ? 1 : 0;
        }

        Assert.Equal(4, chunks);
        Assert.True(onReceivingThread >= 12, $"{onReceivingThread} of 24 calls and chunks resumed on a receiving thread");
    }

    [Fact]
    public async Task A_caller_that_blocks_on_a_second_call_over_the_same_connection_gets_its_answer()
    {
        await using var server = await StartAsync();

        // One connection: the second call's answer can only come over the connection whose
        // receiving thread the caller blocks, so another thread has to take over its receiving.
        await using var client = await MaasClient.ConnectAsync(server.Uri, Options(inline: false, connections: 1));
        var model = await client.GetModelAsync("gaussian1d").ConfigureAwait(false);
        var nested = Task.Run(async () =>
        {
            double first = await model.LogDensityAsync([0.5]).ConfigureAwait(false);
            double second = model.LogDensityAsync([1.5]).AsTask().GetAwaiter().GetResult();
            return (first, second);
        });
        var (first, second) = await nested.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), first, 12);
        Assert.Equal(GaussianModel.LogDensityOf([1.5], [0.0], [1.0]), second, 12);
    }

    [Fact]
    public async Task A_clients_socket_is_not_watched_by_the_runtimes_epoll_thread()
    {
        await using var server = await StartAsync();
        await using var client = await MaasClient.ConnectAsync(server.Uri, Options(inline: false, connections: 1));
        var model = await client.GetModelAsync("gaussian1d");
        await model.LogDensityAsync([0.5]);

        // The check can see a watched socket: one connected asynchronously is.
        using (var control = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await control.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Uri.Port));
            Assert.Contains(EpollWatch.SocketInode(((IPEndPoint)control.LocalEndPoint!).Port, server.Uri.Port), EpollWatch.WatchedSocketInodes());
        }

        Assert.DoesNotContain(EpollWatch.ClientSocketInode(server.Uri.Port), EpollWatch.WatchedSocketInodes());
    }

    [Fact]
    public async Task The_transports_own_clients_for_other_code_resume_on_the_thread_pool()
    {
        await using var server = await StartAsync();
        using var transport = new HttpTransport();
        var (http, baseUri) = transport.ClientFor(server.Uri);
        for (int i = 0; i < 10; i++)
        {
            using var response = await http.GetAsync(new Uri(baseUri, "v1/models")).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            Assert.True(Thread.CurrentThread.IsThreadPoolThread, $"request {i} resumed on '{Thread.CurrentThread.Name}'");
        }
    }

    [Fact]
    public async Task A_clients_receive_spin_time_is_checked_and_its_connections_carry_calls()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HttpTransportOptions { ReceiveSpinTime = TimeSpan.FromMicroseconds(-1) });

        await using var server = await StartAsync();
        var options = new MaasClientOptions { Retry = null };
        options.Transports.Add(new HttpTransport(new HttpTransportOptions { ReceiveSpinTime = TimeSpan.Zero }));
        await using var client = await MaasClient.ConnectAsync(server.Uri, options);
        var model = await client.GetModelAsync("gaussian1d");
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(GaussianModel.LogDensityOf([0.1 * i], [0.0], [1.0]), await model.LogDensityAsync([0.1 * i]), 12);
        }
    }

    [Fact]
    public async Task A_stream_reads_what_the_peer_sends_and_ends_with_it()
    {
        var (mine, peer) = await ConnectedPairAsync();
        using var _ = peer;
        await using var stream = new SocketReceiveStream(mine, inlineReads: false, receiveSpin: TimeSpan.FromMicroseconds(50), countReceivingThread: _ => { });

        // A zero-byte read waits for bytes and takes none.
        var waiting = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(waiting.IsCompleted);
        peer.Send("hello"u8);
        Assert.Equal(0, await waiting.WaitAsync(TimeSpan.FromSeconds(30)));

        var buffer = new byte[3];
        Assert.Equal(3, await stream.ReadAsync(buffer));
        Assert.Equal("hel"u8.ToArray(), buffer);
        Assert.Equal(2, await stream.ReadAsync(buffer));
        Assert.Equal("lo"u8.ToArray(), buffer[..2]);

        await stream.WriteAsync("back"u8.ToArray());
        var echo = new byte[4];
        Assert.Equal(4, peer.Receive(echo));
        Assert.Equal("back"u8.ToArray(), echo);

        peer.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_waiting_read_ends_with_its_token_and_the_stream_reads_on()
    {
        var (mine, peer) = await ConnectedPairAsync();
        using var _ = peer;
        await using var stream = new SocketReceiveStream(mine, inlineReads: true, receiveSpin: TimeSpan.FromMicroseconds(50), countReceivingThread: _ => { });
        using var cancel = new CancellationTokenSource();
        var waiting = stream.ReadAsync(new byte[8], cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));

        peer.Send("x"u8);
        var buffer = new byte[8];
        Assert.Equal(1, await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Disposing_a_stream_fails_its_waiting_read_and_every_later_one()
    {
        var (mine, peer) = await ConnectedPairAsync();
        using var _ = peer;
        var stream = new SocketReceiveStream(mine, inlineReads: false, receiveSpin: TimeSpan.FromMicroseconds(50), countReceivingThread: _ => { });
        var waiting = stream.ReadAsync(new byte[8]).AsTask();
        await stream.DisposeAsync();
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.ReadAsync(new byte[8]).AsTask());

        // The peer sees the connection closed.
        Assert.Equal(0, peer.Receive(new byte[8]));
    }

    [Fact]
    public async Task A_streams_receiving_thread_ends_while_no_read_waits_and_the_next_read_starts_another()
    {
        var (mine, peer) = await ConnectedPairAsync();
        using var _ = peer;
        var counts = new System.Collections.Concurrent.BlockingCollection<int>();
        // Not inline: this test's code blocks, and must not do that on the receiving thread.
        await using var stream = new SocketReceiveStream(mine, inlineReads: false, receiveSpin: TimeSpan.FromMicroseconds(50), countReceivingThread: counts.Add, receiverIdleEnd: TimeSpan.FromMilliseconds(20));
        var buffer = new byte[8];
        for (int round = 0; round < 3; round++)
        {
            // No read waits: the thread ends (counted -1) ...
            Assert.True(counts.TryTake(out int ended, TimeSpan.FromSeconds(30)), $"round {round}: the idle receiving thread did not end");
            Assert.Equal(-1, ended);

            // ... and a read starts another (+1), which receives what the peer sends.
            var reading = stream.ReadAsync(buffer).AsTask();
            Assert.True(counts.TryTake(out int started, TimeSpan.FromSeconds(30)), $"round {round}: no receiving thread started for the read");
            Assert.Equal(+1, started);
            peer.Send([(byte)round]);
            Assert.Equal(1, await reading.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false));
            Assert.Equal(round, buffer[0]);
        }

        // Bytes that arrive while no thread runs wait in the socket; the stream still sees its end.
        peer.Send("later"u8);
        Assert.True(counts.TryTake(out int last, TimeSpan.FromSeconds(30)));
        Assert.Equal(-1, last);
        peer.Shutdown(SocketShutdown.Send);
        Assert.Equal(5, await stream.ReadAtLeastAsync(buffer, 5, throwOnEndOfStream: false).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("later"u8.ToArray(), buffer[..5]);
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_read_that_waits_while_the_readers_code_blocks_the_receiving_thread_is_received_by_another()
    {
        var (mine, peer) = await ConnectedPairAsync();
        using var _ = peer;
        var counts = new System.Collections.Concurrent.BlockingCollection<int>();
        await using var stream = new SocketReceiveStream(mine, inlineReads: true, receiveSpin: TimeSpan.FromMicroseconds(50), countReceivingThread: counts.Add, receiverIdleEnd: Timeout.InfiniteTimeSpan);

        // The first read's code runs on the receiving thread and blocks there on the second read,
        // whose byte is sent only then (sent earlier, the first receive would have taken it too).
        var first = new byte[1];
        using var blocking = new ManualResetEventSlim();
        var blocked = stream.ReadAsync(first).AsTask().ContinueWith(
            read =>
            {
                string? thread = Thread.CurrentThread.Name;
                var second = new byte[1];
                var reading = stream.ReadAsync(second).AsTask();
                blocking.Set();
                int n = reading.GetAwaiter().GetResult();
                return (thread, First: read.Result, Second: n, Byte: second[0]);
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        peer.Send([1]);
        Assert.True(blocking.Wait(TimeSpan.FromSeconds(30)));
        peer.Send([2]);

        var (thread, firstCount, secondCount, secondByte) = await blocked.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ReceivingThread, thread);
        Assert.Equal((1, 1, 2), (firstCount, secondCount, (int)secondByte));
        Assert.Equal(1, first[0]);

        // A second thread took over (+1); the first ended once the blocked code returned to it (-1).
        Assert.True(counts.TryTake(out int started, TimeSpan.FromSeconds(30)));
        Assert.Equal(+1, started);
        Assert.True(counts.TryTake(out int ended, TimeSpan.FromSeconds(30)));
        Assert.Equal(-1, ended);

        // The thread that took over reads on.
        peer.Send([3]);
        Assert.Equal(1, await stream.ReadAsync(first).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(3, first[0]);
    }

    [Fact]
    public async Task Disposing_a_stream_whose_receiving_thread_ended_idle_closes_it()
    {
        var (mine, peer) = await ConnectedPairAsync();
        using var _ = peer;
        var counts = new System.Collections.Concurrent.BlockingCollection<int>();
        var stream = new SocketReceiveStream(mine, inlineReads: false, receiveSpin: TimeSpan.Zero, countReceivingThread: counts.Add, receiverIdleEnd: TimeSpan.FromMilliseconds(20));
        Assert.True(counts.TryTake(out int ended, TimeSpan.FromSeconds(30)));
        Assert.Equal(-1, ended);

        await stream.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.ReadAsync(new byte[8]).AsTask());
        Assert.Equal(0, peer.Receive(new byte[8]));
        Assert.Empty(counts);
    }

    [Fact]
    public async Task A_clients_idle_connections_give_their_receiving_threads_back()
    {
        // The server's connections (in this process too) keep their threads while they stay open.
        static int ClientThreads() => SocketConnections.ReceivingThreads - SocketConnections.ServerReceivingThreads;
        int before = ClientThreads();
        await using var server = await StartAsync();
        await using var client = await MaasClient.ConnectAsync(server.Uri, Options(inline: false, connections: 8));
        var model = await client.GetModelAsync("gaussian1d");

        // Eight callers at once open up to eight pooled connections, each with a receiving thread.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            for (int k = 0; k < 20; k++)
            {
                await model.LogDensityAsync([0.1 * k]);
            }
        })));

        // Idle, the connections stay pooled (for a minute), but their threads end within a second
        // each. (Other tests' threads may still be ending meanwhile: the count only has to get back.)
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (ClientThreads() > before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(ClientThreads() <= before, $"{ClientThreads()} client receiving threads run, {before} before the calls");

        // The pooled connections carry calls again.
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(GaussianModel.LogDensityOf([0.3 * i], [0.0], [1.0]), await model.LogDensityAsync([0.3 * i]), 12);
        }
    }

    [Fact]
    public async Task The_servers_requests_run_on_the_receiving_thread_of_their_connection_outside_the_epoll_thread()
    {
        var threads = new System.Collections.Concurrent.ConcurrentQueue<string?>();
        await using var started = await StartWhereAsync("http://127.0.0.1:0", threads);
        await using var client = await MaasClient.ConnectAsync(started.Uri, Options(inline: false, connections: 1));
        var model = await client.GetModelAsync("where");
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(-i, await model.LogDensityAsync([i]));
        }

        // Kestrel starts a connection's processing on the pool (which may read the first request
        // there); from then on each request runs where its bytes were received.
        Assert.Equal(20, threads.Count);
        Assert.True(threads.Count(name => name == ReceivingThread) >= 18, $"threads: {string.Join(", ", threads)}");
        Assert.DoesNotContain(EpollWatch.AcceptedSocketInode(started.Uri.Port), EpollWatch.WatchedSocketInodes());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_server_connection_tells_Kestrel_when_the_client_hangs_up_while_its_request_runs(bool receivingThread)
    {
        var (mine, peer) = await ConnectedPairAsync();
        await using var connection = receivingThread
            ? KestrelSocketConnection.WithReceivingThread(mine, "test", TimeSpan.FromMicroseconds(50), _ => { })
            : KestrelSocketConnection.OverSharedThreads(mine, "test");
        var input = connection.Transport.Input;

        // A request arrives and is read; the application then works and nothing reads.
        peer.Send("request"u8);
        var read = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("request"u8.ToArray(), read.Buffer.ToArray());
        input.AdvanceTo(read.Buffer.End);

        // Bytes the client sends meanwhile are no hang-up.
        peer.Send("next"u8);
        await Task.Delay(3 * SocketReceiveReader.PeerCheckInterval);
        Assert.False(connection.ConnectionClosed.IsCancellationRequested);

        // The answer goes out.
        await connection.Transport.Output.WriteAsync("answer"u8.ToArray());
        var answer = new byte[6];
        Assert.Equal(6, peer.Receive(answer));
        Assert.Equal("answer"u8.ToArray(), answer);

        // The client hangs up behind the unread bytes: noticed without a read.
        peer.Dispose();
        var closed = new TaskCompletionSource();
        using (connection.ConnectionClosed.Register(closed.SetResult))
        {
            await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        // What came before the hang-up is still read, then the end.
        var bytes = new List<byte>();
        while (true)
        {
            read = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            bytes.AddRange(read.Buffer.ToArray());
            input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal("next"u8.ToArray(), bytes.ToArray());
    }

    [Fact]
    public async Task A_server_on_the_IPv6_loopback_serves_calls_on_receiving_threads()
    {
        var threads = new System.Collections.Concurrent.ConcurrentQueue<string?>();
        await using var started = await StartWhereAsync("http://[::1]:0", threads);
        Assert.Equal("[::1]", started.Uri.Host);
        await using var client = await MaasClient.ConnectAsync(started.Uri, Options(inline: false, connections: 1));
        var model = await client.GetModelAsync("where");
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(-i, await model.LogDensityAsync([i]));
        }

        Assert.True(threads.Count(name => name == ReceivingThread) >= 8, $"threads: {string.Join(", ", threads)}");
    }

    [Fact]
    public async Task The_servers_listener_binds_a_free_port_refuses_a_taken_one_and_stops_accepting_when_unbound()
    {
        var factory = new ReceivingThreadTransportFactory(TimeSpan.FromMicroseconds(50));
        Assert.True(factory.CanBind(new IPEndPoint(IPAddress.Loopback, 0)));
        Assert.False(factory.CanBind(new UnixDomainSocketEndPoint(Path.Combine(Path.GetTempPath(), "maas-not-bound.sock"))));

        var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var bound = (IPEndPoint)listener.EndPoint;
        Assert.NotEqual(0, bound.Port);
        await Assert.ThrowsAsync<Microsoft.AspNetCore.Connections.AddressInUseException>(async () => await factory.BindAsync(bound));

        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(bound);
            await using var accepted = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(accepted);
            Assert.Equal(bound, accepted.LocalEndPoint);
            Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
        }

        var waiting = listener.AcceptAsync().AsTask();
        await listener.UnbindAsync();
        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        await listener.DisposeAsync();
    }

    [Fact]
    public async Task Receive_loops_that_follow_each_other_reuse_a_thread_and_run_in_their_callers_context()
    {
        // A client that connects for every call ends a connection's receive loop before the next
        // begins: the next loop runs on the thread the last one left, in the context of its Start.
        var caller = new AsyncLocal<string?>();
        var threads = new System.Collections.Concurrent.ConcurrentBag<Thread>();
        long madeBefore = ReceivingThreads.Made;
        for (int i = 0; i < 10; i++)
        {
            caller.Value = $"loop {i}";
            var ran = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            ReceivingThreads.Start(ReceivingThread, _ =>
            {
                threads.Add(Thread.CurrentThread);
                ran.SetResult($"{caller.Value} on {Thread.CurrentThread.Name}");
            }, null);
            Assert.Equal($"loop {i} on {ReceivingThread}", await ran.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            await WaitUntilAsync(() => ReceivingThreads.Idle > 0, "a thread waits for the next loop");
        }

        // At most the first loop made a thread (there may have been none waiting).
        Assert.True(ReceivingThreads.Made - madeBefore <= 1, $"{ReceivingThreads.Made - madeBefore} threads made for 10 loops one after another");
        Assert.All(threads, t => Assert.True(t.IsBackground));

        // Nobody starts another: the waiting threads end after ReceivingThreads.KeepIdle.
        await WaitUntilAsync(() => ReceivingThreads.Idle == 0, "the waiting threads end");
    }

    [Fact]
    public async Task A_receive_loop_that_runs_on_does_not_hold_back_the_next_one()
    {
        using var release = new ManualResetEventSlim();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource<Thread>(TaskCreationOptions.RunContinuationsAsynchronously);
        Thread? firstThread = null;
        ReceivingThreads.Start(ReceivingThread, _ =>
        {
            firstThread = Thread.CurrentThread;
            first.SetResult();
            release.Wait();
        }, null);
        await first.Task.WaitAsync(TimeSpan.FromSeconds(30));
        ReceivingThreads.Start(ReceivingThread, state => second.SetResult(Thread.CurrentThread), null);
        Assert.NotSame(firstThread, await second.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        release.Set();
    }

    [Fact]
    public async Task Connections_accepted_but_not_taken_when_the_listener_closes_are_closed()
    {
        var factory = new ReceivingThreadTransportFactory(TimeSpan.FromMicroseconds(50));
        var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var untaken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await taken.ConnectAsync(listener.EndPoint);
        await using var accepted = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(accepted);
        await untaken.ConnectAsync(listener.EndPoint);

        // The accepting thread takes the second connection at once; nobody asks for it.
        await Task.Delay(200);
        await listener.UnbindAsync();
        await listener.DisposeAsync();

        // The second client sees its connection end (nothing leaks); the first stays up.
        var buffer = new byte[1];
        int read;
        try
        {
            read = await untaken.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            read = 0;
        }

        Assert.Equal(0, read);
        Assert.True(taken.Connected);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }

    private static async Task<(Socket Mine, Socket Peer)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var mine = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        mine.Connect(listener.LocalEndPoint!);
        var peer = await listener.AcceptAsync();
        return (mine, peer);
    }

    [Fact]
    public async Task Each_call_reaches_its_own_models_route_past_the_routes_a_client_keeps()
    {
        // More models than the client keeps routes for (1,024): the later ones are built each call.
        const int models = 1_100;
        var server = new MaasServer(transports: [new HttpTransport()]);
        for (int i = 0; i < models; i++)
        {
            double value = i;
            server.AddModel(ModelBuilder.Create($"m{i}").WithInputDimension(1).WithLogDensity((_, result) => result[0] = value).Build());
        }

        await using var started = new StartedServer(server, await server.ListenAsync("http://127.0.0.1:0"));
        await using var client = await MaasClient.ConnectAsync(started.Uri, Options(inline: false, connections: 1));
        var remote = new RemoteModel[models];
        for (int i = 0; i < models; i++)
        {
            remote[i] = await client.GetModelAsync($"m{i}");
        }

        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < models; i += round + 1)
            {
                Assert.Equal(i, await remote[i].LogDensityAsync([0.5]));
            }
        }

        var missing = await Assert.ThrowsAsync<MaasException>(() => client.GetModelAsync("m-none"));
        Assert.Equal(MaasErrorCode.NotFound, missing.Code);
    }

    // A server of one model, "where", whose log-density is -x and which records the thread it ran on.
    private static async Task<StartedServer> StartWhereAsync(string uri, System.Collections.Concurrent.ConcurrentQueue<string?> threads)
    {
        var server = new MaasServer(transports: [new HttpTransport()]);
        server.AddModel(ModelBuilder.Create("where")
            .WithInputDimension(1)
            .WithLogDensity((a, result) =>
            {
                threads.Enqueue(Thread.CurrentThread.Name);
                result[0] = -a.X[0];
            })
            .Build());
        return new StartedServer(server, await server.ListenAsync(uri));
    }

    private static async Task<StartedServer> StartAsync()
    {
        var server = new MaasServer(transports: [new HttpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("http://127.0.0.1:0");
        return new StartedServer(server, uri);
    }

    private static MaasClientOptions Options(bool inline, int connections)
    {
        var options = new MaasClientOptions { Retry = null, InlineCompletions = inline };
        options.Transports.Add(new HttpTransport(new HttpTransportOptions { MaxConnectionsPerServer = connections }));
        return options;
    }

    private sealed record StartedServer(MaasServer Server, Uri Uri) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }
}

/// <summary>Runs <see cref="ReceivingThreadTests"/> alone.</summary>
[CollectionDefinition(nameof(ReceivingThreadTests), DisableParallelization = true)]
public sealed class ReceivingThreadTestsCollection
{
}
