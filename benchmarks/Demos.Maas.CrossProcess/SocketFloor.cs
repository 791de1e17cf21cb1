using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Demos.Maas.CrossProcess;

/// <summary>
/// The .NET floor: a raw socket ping-pong between two processes moving exactly the bytes of one
/// request and response frame, no protocol work. <c>sync</c> blocks in Receive/Send; <c>async</c>
/// awaits ReceiveAsync/SendAsync (the epoll path every async .NET server uses).
/// </summary>
internal static class SocketFloor
{
    public static async Task<int> ServeAsync(string kind, string where, bool sync)
    {
        using var listener = Open(kind, where, listening: true);
        Console.WriteLine("ready");
        while (true)
        {
            var socket = await listener.AcceptAsync();
            _ = Task.Run(async () =>
            {
                using (socket)
                {
                    var sizes = new byte[8];
                    if (!await ReadAsync(socket, sizes, sync))
                    {
                        return;
                    }

                    var request = new byte[BitConverter.ToInt32(sizes, 0)];
                    var response = new byte[BitConverter.ToInt32(sizes, 4)];
                    while (await ReadAsync(socket, request, sync) && await WriteAsync(socket, response, sync))
                    {
                    }
                }
            });
        }
    }

    public static async Task<int> ClientAsync(string kind, string where, bool sync, int requestBytes, int responseBytes, int rounds, TimeSpan warmupTime)
    {
        using var socket = Open(kind, where, listening: false);
        var sizes = new byte[8];
        BitConverter.TryWriteBytes(sizes.AsSpan(0, 4), requestBytes);
        BitConverter.TryWriteBytes(sizes.AsSpan(4, 4), responseBytes);
        await WriteAsync(socket, sizes, sync);
        var request = new byte[requestBytes];
        var response = new byte[responseBytes];

        // Warm up as maas bench does: the rounds asked for, and until the JIT had time to optimise.
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < rounds / 10 || Stopwatch.GetElapsedTime(warmupStart) < warmupTime; i++)
        {
            if (!await RoundAsync(socket, request, response, sync))
            {
                return 2;
            }
        }

        var times = new double[rounds];
        for (int i = 0; i < rounds; i++)
        {
            long start = Stopwatch.GetTimestamp();
            if (!await RoundAsync(socket, request, response, sync))
            {
                return 2;
            }

            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(times);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{BenchCase.Percentile(times, 0.5):0.00} {BenchCase.Percentile(times, 0.99):0.00}"));
        return 0;
    }

    private static async ValueTask<bool> RoundAsync(Socket socket, byte[] request, byte[] response, bool sync)
    {
        if (!await WriteAsync(socket, request, sync) || !await ReadAsync(socket, response, sync))
        {
            await Console.Error.WriteLineAsync("peer closed");
            return false;
        }

        return true;
    }

    private static Socket Open(string kind, string where, bool listening)
    {
        bool unix = kind == "unix";
        EndPoint endPoint = unix ? new UnixDomainSocketEndPoint(where) : new IPEndPoint(IPAddress.Loopback, int.Parse(where, CultureInfo.InvariantCulture));
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        if (!unix)
        {
            socket.NoDelay = true;
        }

        if (listening)
        {
            if (unix)
            {
                File.Delete(where);
            }
            else
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(endPoint);
            socket.Listen(4);
        }
        else
        {
            socket.Connect(endPoint);
        }

        return socket;
    }

    private static async ValueTask<bool> ReadAsync(Socket socket, byte[] buffer, bool sync)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = sync ? socket.Receive(buffer, read, buffer.Length - read, SocketFlags.None) : await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None);
            if (n <= 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    private static async ValueTask<bool> WriteAsync(Socket socket, byte[] buffer, bool sync)
    {
        try
        {
            if (sync)
            {
                socket.Send(buffer);
            }
            else
            {
                int sent = 0;
                while (sent < buffer.Length)
                {
                    sent += await socket.SendAsync(buffer.AsMemory(sent), SocketFlags.None);
                }
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
