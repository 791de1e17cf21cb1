using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Shm;

// The transports' own floor, across two processes: a byte ping-pong through a MaasConnection (no
// protocol, no model), over shm:// and pipe://, for a 64-byte message and for the 524,288 bytes of a
// 65,536-point batch; and the in-process memcpy of the same bytes there and back.
//   shm-pingpong                 runs everything (starts its own echo server process)
//   shm-pingpong echo URI        serves an echo on URI until killed
var transports = new IMaasTransport[] { new ShmTransport(), new PipeTransport() };
if (args is ["echo", var listen])
{
    await EchoAsync(new Uri(listen));
    return 0;
}

int[] sizes = [64, 65_536 * 8];
string dir = Path.GetTempPath();
string shm = $"shm://{Path.Combine(dir, $"pingpong-{Environment.ProcessId}.sock")}";
string pipe = $"pipe://{Path.Combine(dir, $"pingpong-pipe-{Environment.ProcessId}.sock")}";
Console.WriteLine($"# {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:u}");
Console.WriteLine($"{"case",-34} {"bytes",9} {"p50 µs",9} {"p90 µs",9} {"p99 µs",9} {"GB/s (p50, both ways)",22}");
foreach (int size in sizes)
{
    Report("memcpy there and back (1 process)", size, Memcpy(size));
    foreach (string uri in new[] { shm, pipe })
    {
        using var server = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["echo", uri]) { UseShellExecute = false })!;
        try
        {
            Report($"{new Uri(uri).Scheme}:// ping-pong (2 processes)", size, await PingPongAsync(new Uri(uri), size));
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
        }
    }
}

return 0;

static void Report(string name, int size, double[] microseconds)
{
    Array.Sort(microseconds);
    double P(double q) => microseconds[(int)(q * (microseconds.Length - 1))];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-34} {size,9} {P(0.5),9:F1} {P(0.9),9:F1} {P(0.99),9:F1} {2.0 * size / (P(0.5) * 1e3),22:F2}"));
}

static double[] Memcpy(int size)
{
    var a = new byte[size];
    var b = new byte[size];
    var c = new byte[size];
    Random.Shared.NextBytes(a);
    int n = size > 4096 ? 3000 : 100_000;
    var times = new double[n];
    for (int i = -n / 10; i < n; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        a.AsSpan().CopyTo(b);
        b.AsSpan().CopyTo(c);
        if (i >= 0)
        {
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
    }

    return times;
}

async Task<double[]> PingPongAsync(Uri uri, int size)
{
    MaasConnection? connection = null;
    for (int attempt = 0; connection is null; attempt++)
    {
        try
        {
            connection = await ((IMaasConnectionFactory)transports.First(t => t.CanHandle(uri))).ConnectAsync(uri);
        }
        catch (Demos.Maas.MaasException) when (attempt < 500)
        {
            await Task.Delay(20);
        }
    }

    await using var _ = connection;
    var message = new byte[size];
    Random.Shared.NextBytes(message);
    int n = size > 4096 ? 2000 : 20_000;
    var times = new double[n];
    for (int i = -n / 10; i < n; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        // Read while writing: a message larger than the socket buffers would otherwise deadlock the echo.
        var echo = ReadAsync(connection.Transport.Input, size);
        await connection.Transport.Output.WriteAsync(message);
        await echo;

        if (i >= 0)
        {
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
    }

    return times;
}

static async Task ReadAsync(PipeReader input, int size)
{
    long got = 0;
    while (got < size)
    {
        var read = await input.ReadAsync();
        got += read.Buffer.Length;
        input.AdvanceTo(read.Buffer.End);
    }
}

async Task EchoAsync(Uri uri)
{
    await using var listener = await ((IMaasListenerFactory)transports.First(t => t.CanHandle(uri))).BindAsync(uri);
    while (await listener.AcceptAsync() is { } connection)
    {
        _ = Task.Run(async () =>
        {
            await using var _ = connection;
            var input = connection.Transport.Input;
            var output = connection.Transport.Output;
            while (true)
            {
                var read = await input.ReadAsync();
                foreach (var segment in read.Buffer)
                {
                    output.Write(segment.Span);
                }

                input.AdvanceTo(read.Buffer.End);
                await output.FlushAsync();
                if (read.IsCompleted)
                {
                    break;
                }
            }
        });
    }
}
