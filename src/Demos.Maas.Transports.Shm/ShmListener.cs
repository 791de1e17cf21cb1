using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// Accepts clients on the rendezvous socket; for each, makes and maps a ring file, tells the client
/// its path, waits until the client has mapped it and removes it. Rendezvous run concurrently, so a
/// client that stalls in one does not hold up the others.
/// </summary>
internal sealed class ShmListener : IMaasListener
{
    private static readonly TimeSpan RendezvousTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly string _socketPath;
    private readonly ShmTransportOptions _options;
    private readonly Channel<ShmConnection> _accepted = Channel.CreateUnbounded<ShmConnection>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _disposed;

    public ShmListener(Socket socket, Uri uri, string socketPath, ShmTransportOptions options)
    {
        _socket = socket;
        _socketPath = socketPath;
        _options = options;
        Uri = uri;
        _loop = AcceptLoopAsync();
    }

    public Uri Uri { get; }

    public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _loop.ConfigureAwait(false);
        TryDelete(_socketPath);
        while (_accepted.Reader.TryRead(out var left))
        {
            await left.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next bind to clean up.
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
                {
                    continue;
                }

                _ = RendezvousAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Closed.
        }
        finally
        {
            _accepted.Writer.TryComplete();
        }
    }

    private async Task RendezvousAsync(Socket client)
    {
        string ringPath = Path.Combine(_options.RingDirectory, $"maas-ring-{Environment.ProcessId}-{Guid.NewGuid():N}.shm");
        ShmRegion? region = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(RendezvousTimeout);
            region = ShmRegion.Create(ringPath, _options.RingSize);
            byte[] path = Encoding.UTF8.GetBytes(ringPath);
            var message = new byte[4 + path.Length];
            BinaryPrimitives.WriteInt32LittleEndian(message, path.Length);
            path.CopyTo(message, 4);
            await client.SendAsync(message, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            await ShmTransport.ReceiveExactlyAsync(client, new byte[1], timeout.Token).ConfigureAwait(false);
            TryDelete(ringPath); // both sides have it mapped: nothing is left behind, whoever dies
            var connection = new ShmConnection(region, client, isServer: true, $"shm client {client.LocalEndPoint}", _options.SpinTime);
            region = null;
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // The client gave up (or the listener closed) during the rendezvous.
            region?.Dispose();
            TryDelete(ringPath);
            client.Dispose();
        }
    }
}
