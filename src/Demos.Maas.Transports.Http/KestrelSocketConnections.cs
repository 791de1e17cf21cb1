using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Demos.Maas.Transports;

/// <summary>Kestrel's connections (see <see cref="Http.ReceivingThreadTransportFactory"/>).</summary>
internal static partial class SocketConnections
{
    private static int s_serverReceivingThreads;

    /// <summary>How many of the <see cref="ReceivingThreads"/> receive the HTTP server's connections.</summary>
    public static int ServerReceivingThreads => Volatile.Read(ref s_serverReceivingThreads);

    /// <summary>A Kestrel connection with a receiving thread, or over the runtime's shared I/O threads once the process has <see cref="MaxReceivingThreads"/>.</summary>
    public static ConnectionContext WrapForKestrel(Socket socket, string id, TimeSpan receiveSpin) =>
        WithReceivingThread<ConnectionContext>(
            count =>
            {
                Interlocked.Increment(ref s_serverReceivingThreads);
                try
                {
                    return Http.KestrelSocketConnection.WithReceivingThread(socket, id, receiveSpin, change =>
                    {
                        Interlocked.Add(ref s_serverReceivingThreads, change);
                        count(change);
                    });
                }
                catch
                {
                    Interlocked.Decrement(ref s_serverReceivingThreads);
                    throw;
                }
            },
            () => Http.KestrelSocketConnection.OverSharedThreads(socket, id));
}
