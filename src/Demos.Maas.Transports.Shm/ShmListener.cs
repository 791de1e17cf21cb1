using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// Accepts clients on the rendezvous socket; for each, makes and maps a ring file, tells the client
/// its path, waits until the client has mapped it and removes it. Rendezvous run concurrently, so a
/// client that stalls in one does not hold up the others.
/// </summary>
internal sealed class ShmListener : HandshakeListener
{
    private static readonly TimeSpan RendezvousTimeout = TimeSpan.FromSeconds(10);

    private readonly string _socketPath;
    private readonly ShmTransportOptions _options;

    public ShmListener(Socket socket, Uri uri, string socketPath, ShmTransportOptions options)
        : base(socket, uri, RendezvousTimeout)
    {
        _socketPath = socketPath;
        _options = options;
        Start();
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

    protected override void OnClosed() => TryDelete(_socketPath);

    protected override async Task<MaasConnection> HandshakeAsync(Socket client, CancellationToken cancellationToken)
    {
        string ringPath = Path.Combine(_options.RingDirectory, $"maas-ring-{Environment.ProcessId}-{Guid.NewGuid():N}.shm");
        ShmRegion? region = null;
        try
        {
            region = ShmRegion.Create(ringPath, _options.RingSize);
            byte[] path = Encoding.UTF8.GetBytes(ringPath);
            var message = new byte[4 + path.Length];
            BinaryPrimitives.WriteInt32LittleEndian(message, path.Length);
            path.CopyTo(message, 4);
            await client.SendAsync(message, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            await ShmTransport.ReceiveExactlyAsync(client, new byte[1], cancellationToken).ConfigureAwait(false);
            TryDelete(ringPath); // both sides have it mapped: nothing is left behind, whoever dies
            var connection = new ShmConnection(region, client, isServer: true, $"shm client {client.LocalEndPoint}", _options.SpinTime);
            region = null;
            return connection;
        }
        catch
        {
            // The client gave up (or the listener closed) during the rendezvous.
            region?.Dispose();
            TryDelete(ringPath);
            client.Dispose();
            throw;
        }
    }
}
