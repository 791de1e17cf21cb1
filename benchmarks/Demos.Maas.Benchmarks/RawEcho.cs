using System.Net;
using System.Net.Sockets;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// The floor: a raw socket ping-pong that moves exactly the bytes of a MaaS round trip (request
/// frame in, response frame out) with no protocol work at all.
/// </summary>
internal sealed class RawEcho : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Socket _client;
    private readonly byte[] _request;
    private readonly byte[] _response;
    private readonly Task _serverLoop;
    private readonly CancellationTokenSource _stop = new();

    private RawEcho(Socket listener, Socket client, Socket served, int requestBytes, int responseBytes)
    {
        _listener = listener;
        _client = client;
        _request = new byte[requestBytes];
        _response = new byte[responseBytes];
        _serverLoop = Task.Run(() => ServeAsync(served, requestBytes, responseBytes));
    }

    public static async Task<RawEcho> StartAsync(bool unix, int requestBytes, int responseBytes)
    {
        Socket listener;
        EndPoint endPoint;
        if (unix)
        {
            string path = Path.Combine(Path.GetTempPath(), $"maas-raw-{Guid.NewGuid():N}.sock");
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            endPoint = new UnixDomainSocketEndPoint(path);
        }
        else
        {
            listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            endPoint = listener.LocalEndPoint!;
        }

        listener.Listen(1);
        var client = new Socket(endPoint.AddressFamily, SocketType.Stream, unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        if (!unix)
        {
            client.NoDelay = true;
        }

        var accept = listener.AcceptAsync();
        await client.ConnectAsync(endPoint);
        var served = await accept;
        if (!unix)
        {
            served.NoDelay = true;
        }

        return new RawEcho(listener, client, served, requestBytes, responseBytes);
    }

    public async ValueTask RoundTripAsync()
    {
        await SendAllAsync(_client, _request);
        await ReceiveAllAsync(_client, _response);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _client.Dispose();
        _listener.Dispose();
        try
        {
            await _serverLoop;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed under it, as intended.
        }
    }

    private async Task ServeAsync(Socket socket, int requestBytes, int responseBytes)
    {
        var inbox = new byte[requestBytes];
        var outbox = new byte[responseBytes];
        using (socket)
        {
            while (!_stop.IsCancellationRequested)
            {
                if (!await ReceiveAllAsync(socket, inbox))
                {
                    return;
                }

                await SendAllAsync(socket, outbox);
            }
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, byte[] buffer)
    {
        int sent = 0;
        while (sent < buffer.Length)
        {
            sent += await socket.SendAsync(buffer.AsMemory(sent), SocketFlags.None);
        }
    }

    private static async ValueTask<bool> ReceiveAllAsync(Socket socket, byte[] buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}
