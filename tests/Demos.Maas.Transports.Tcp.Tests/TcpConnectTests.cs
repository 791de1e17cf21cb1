using System.Net;
using System.Net.Sockets;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Tests;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Transports.Tcp.Tests;

/// <summary>
/// A tcp:// client connects with a non-blocking connect it polls for itself (so the socket never
/// joins the runtime's asynchronous engine): names, refusals, a connect that never completes, and
/// cancellation.
/// </summary>
public sealed class TcpConnectTests
{
    [Fact]
    public async Task A_host_name_is_resolved_and_its_address_reached()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var bound = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var client = await MaasClient.ConnectAsync($"tcp://localhost:{bound.Port}", Options());
        var model = await client.GetModelAsync("gaussian1d");
        Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), await model.LogDensityAsync([0.5]), 12);
    }

    [Fact]
    public async Task A_refused_port_fails_at_once_with_Unavailable_naming_the_refusal()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var error = await Assert.ThrowsAsync<MaasException>(() => new TcpTransport().ConnectAsync(new Uri($"tcp://127.0.0.1:{port}")).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.Contains("ConnectionRefused", error.Message, StringComparison.Ordinal);
        Assert.IsType<SocketException>(error.InnerException);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_fails_with_Unavailable()
    {
        var options = Options();
        options.ConnectTimeout = TimeSpan.FromSeconds(20);
        var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync("tcp://no-such-host.invalid:5000", options).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.Contains("no-such-host.invalid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connect_the_listener_never_completes_ends_when_cancelled()
    {
        using var listener = FullTcpListener.Create();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var connect = new TcpTransport().ConnectAsync(new Uri($"tcp://127.0.0.1:{listener.Port}"), cancel.Token).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_client_that_never_gets_through_fails_with_Unavailable_at_its_connect_timeout()
    {
        using var listener = FullTcpListener.Create();
        var options = Options();
        options.ConnectTimeout = TimeSpan.FromMilliseconds(300);
        var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync($"tcp://127.0.0.1:{listener.Port}", options).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_already_cancelled_token_connects_nothing()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        var bound = await server.ListenAsync("tcp://127.0.0.1:0");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new TcpTransport().ConnectAsync(bound, new CancellationToken(canceled: true)).AsTask());
    }

    [Fact]
    public async Task A_clients_socket_is_not_watched_by_the_runtimes_epoll_thread()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var bound = await server.ListenAsync("tcp://127.0.0.1:0");

        // The check can see a watched socket: one connected asynchronously is.
        using (var control = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await control.ConnectAsync(new IPEndPoint(IPAddress.Loopback, bound.Port));
            Assert.Contains(EpollWatch.SocketInode(((IPEndPoint)control.LocalEndPoint!).Port, bound.Port), EpollWatch.WatchedSocketInodes());
        }

        await using var client = await MaasClient.ConnectAsync(bound, Options());
        var model = await client.GetModelAsync("gaussian1d");
        Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), await model.LogDensityAsync([0.5]), 12);
        long inode = EpollWatch.ClientSocketInode(bound.Port);
        Assert.DoesNotContain(inode, EpollWatch.WatchedSocketInodes());
    }

    [Fact]
    public async Task A_transports_receive_spin_time_is_checked_and_its_connections_carry_calls()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TcpTransport { ReceiveSpinTime = TimeSpan.FromMicroseconds(-1) });

        // Receiving threads that sleep at once still get every answer.
        await using var server = new MaasServer(transports: [new TcpTransport { ReceiveSpinTime = TimeSpan.Zero }]);
        server.AddModel(GaussianModel.Create(1));
        var bound = await server.ListenAsync("tcp://127.0.0.1:0");
        var options = new MaasClientOptions { Retry = null, Reconnect = false };
        options.Transports.Add(new TcpTransport { ReceiveSpinTime = TimeSpan.Zero });
        await using var client = await MaasClient.ConnectAsync(bound, options);
        var model = await client.GetModelAsync("gaussian1d");
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(GaussianModel.LogDensityOf([0.1 * i], [0.0], [1.0]), await model.LogDensityAsync([0.1 * i]), 12);
        }
    }

    private static MaasClientOptions Options()
    {
        var options = new MaasClientOptions { Retry = null, Reconnect = false };
        options.Transports.Add(new TcpTransport());
        return options;
    }

    /// <summary>
    /// A listener that accepts nothing and whose queue is full: the kernel drops further SYNs, so a
    /// connect to it stays under way until its client gives up.
    /// </summary>
    private sealed class FullTcpListener : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _queued = [];

        private FullTcpListener(Socket listener) => _listener = listener;

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static FullTcpListener Create()
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Listen(1);
            var full = new FullTcpListener(socket);

            // Connections complete until the accept queue (backlog + 1) is full; the first that
            // does not complete within a second shows it is.
            for (int i = 0; i < 16; i++)
            {
                var queued = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                full._queued.Add(queued);
                try
                {
                    queued.Connect(socket.LocalEndPoint!);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    // Under way.
                }

                if (!queued.Poll(1_000_000, SelectMode.SelectWrite))
                {
                    return full;
                }
            }

            full.Dispose();
            throw new InvalidOperationException("The listener's queue did not fill: 16 connections completed without accept.");
        }

        public void Dispose()
        {
            _queued.ForEach(s => s.Dispose());
            _listener.Dispose();
        }
    }
}
