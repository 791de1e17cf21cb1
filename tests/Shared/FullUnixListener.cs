using System.Net.Sockets;

namespace Demos.Maas.Tests;

/// <summary>
/// A Unix domain listener whose accept queue is full: what a burst of clients meets before the
/// server's accept loop catches up. The kernel refuses a further connect with EAGAIN at once.
/// </summary>
public sealed class FullUnixListener : IDisposable
{
    private readonly List<Socket> _queued = [];

    private FullUnixListener(string path, Socket socket)
    {
        Path = path;
        Socket = socket;
    }

    /// <summary>The socket file.</summary>
    public string Path { get; }

    /// <summary>The listening socket (backlog 1), not yet accepting.</summary>
    public Socket Socket { get; }

    /// <summary>How many raw connects wait in the queue.</summary>
    public int Queued => _queued.Count;

    /// <summary>Listens with a backlog of 1 and connects raw sockets until the kernel refuses one with EAGAIN.</summary>
    public static async Task<FullUnixListener> CreateAsync()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"maas-full-{Guid.NewGuid():N}.sock");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(1);
        var listener = new FullUnixListener(path, socket);
        for (int i = 0; i < 64; i++)
        {
            var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
                listener._queued.Add(client);
            }
            catch (SocketException ex)
            {
                client.Dispose();
                Assert.Equal(SocketError.WouldBlock, ex.SocketErrorCode); // EAGAIN
                return listener;
            }
        }

        listener.Dispose();
        throw new InvalidOperationException("The kernel queued 64 connects on a listener with backlog 1: the queue never filled.");
    }

    /// <summary>
    /// Asserts that <paramref name="connect"/> waits on the full queue instead of failing at once,
    /// and ends with OperationCanceledException when its token is cancelled (300 ms on).
    /// </summary>
    public static async Task AssertConnectWaitsUntilCancelledAsync(Func<string, CancellationToken, Task> connect)
    {
        using var listener = await CreateAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect(listener.Path, cancel.Token).WaitAsync(TimeSpan.FromSeconds(30)));
    }

    public void Dispose()
    {
        foreach (var client in _queued)
        {
            client.Dispose();
        }

        Socket.Dispose();
        File.Delete(Path);
    }
}
