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
public sealed class ReceivingThreadTests
{
    private const string ReceivingThread = "maas socket receive";

    [Fact]
    public async Task Without_inline_completions_a_caller_resumes_on_the_thread_pool()
    {
        await using var server = await StartAsync();
        await using var client = await MaasClient.ConnectAsync(server.Uri, Options(inline: false, connections: 1));
        var model = await client.GetModelAsync("gaussian1d").ConfigureAwait(false);
        for (int i = 0; i < 20; i++)
        {
            await model.LogDensityAsync([0.5]).ConfigureAwait(false);
            Assert.True(Thread.CurrentThread.IsThreadPoolThread, $"call {i} resumed on '{Thread.CurrentThread.Name}'");
        }

        await foreach (var chunk in model.SampleAsync(new SampleRequest { Count = 40, Seed = 3, ChunkRows = 10 }).ConfigureAwait(false))
        {
            Assert.Equal(10, chunk.Rows);
            Assert.True(Thread.CurrentThread.IsThreadPoolThread, $"a chunk arrived on '{Thread.CurrentThread.Name}'");
        }
    }

    [Fact]
    public async Task A_caller_that_blocks_on_a_second_call_over_the_same_connection_gets_its_answer()
    {
        await using var server = await StartAsync();

        // One connection: the second call's answer is read by the thread that read the first one.
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
    public async Task With_inline_completions_a_caller_resumes_on_the_thread_that_read_its_answer()
    {
        await using var server = await StartAsync();
        await using var client = await MaasClient.ConnectAsync(server.Uri, Options(inline: true, connections: 1));
        var model = await client.GetModelAsync("gaussian1d").ConfigureAwait(false);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(GaussianModel.LogDensityOf([0.25 * i], [0.0], [1.0]), await model.LogDensityAsync([0.25 * i]).ConfigureAwait(false), 12);
            Assert.Equal(ReceivingThread, Thread.CurrentThread.Name);
        }
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
            Assert.Contains(EpollWatch.SocketInode(((IPEndPoint)control.LocalEndPoint!).Port), EpollWatch.WatchedSocketInodes());
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
        await using var stream = new SocketReceiveStream(mine, inlineReads: false, receiveSpin: TimeSpan.FromMicroseconds(50), onReceiverExit: () => { });

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
        await using var stream = new SocketReceiveStream(mine, inlineReads: true, receiveSpin: TimeSpan.FromMicroseconds(50), onReceiverExit: () => { });
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
        var stream = new SocketReceiveStream(mine, inlineReads: false, receiveSpin: TimeSpan.FromMicroseconds(50), onReceiverExit: () => { });
        var waiting = stream.ReadAsync(new byte[8]).AsTask();
        await stream.DisposeAsync();
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.ReadAsync(new byte[8]).AsTask());

        // The peer sees the connection closed.
        Assert.Equal(0, peer.Receive(new byte[8]));
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
