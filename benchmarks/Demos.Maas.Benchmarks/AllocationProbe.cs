using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net.Sockets;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// What the server allocates per 1-point round trip, and of which types: a blocking client that
/// allocates nothing sends pre-encoded request frames over a Unix socket and reads the answers'
/// bytes; the process's allocated bytes are counted over many round trips, and the runtime's
/// allocation-tick events (one per ~100 KB allocated) sample the types, so the samples are in
/// proportion to the bytes. Run: <c>dotnet run -c Release --project benchmarks/Demos.Maas.Benchmarks -- alloc-probe [round-trips]</c>.
/// </summary>
internal static class AllocationProbe
{
    /// <summary>
    /// The client's side: sequential 1-point LogDensity calls against a server in another process
    /// (<c>maas serve --model gaussian1d --listen URI</c>), so every byte counted is the client's.
    /// Run: <c>dotnet run -c Release --project benchmarks/Demos.Maas.Benchmarks -- alloc-probe client URI [calls [timeout-ms]]</c>;
    /// with a timeout every call has a deadline (<see cref="Client.MaasClientOptions.DefaultTimeout"/>).
    /// </summary>
    public static async Task RunClientAsync(string uri, int calls, TimeSpan? timeout)
    {
        var options = new Client.MaasClientOptions { Retry = null, DefaultTimeout = timeout };
        options.Transports.Add(new PipeTransport());
        options.Transports.Add(new Transports.Tcp.TcpTransport());
        await using var client = await Client.MaasClient.ConnectAsync(uri, options);
        var model = await client.GetModelAsync("gaussian1d");
        using var x = Fixture.Points(1);
        for (int i = 0; i < 20_000; i++)
        {
            using var warm = await model.LogDensityAsync(x);
        }

        using var ticks = new AllocationTicks();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < calls; i++)
        {
            using var y = await model.LogDensityAsync(x);
        }

        long after = GC.GetTotalAllocatedBytes(precise: true);
        string deadline = timeout is { } t ? $", each with a {t.TotalMilliseconds:0} ms deadline" : "";
        Report($"{(after - before) / (double)calls:0.0} B per call over {calls:N0} sequential calls{deadline} (the client process; the server runs in its own)", ticks);
    }

    public static async Task RunAsync(int roundTrips)
    {
        string path = Path.Combine(Path.GetTempPath(), $"maas-probe-{Guid.NewGuid():N}.sock");
        await using var server = new MaasServer(transports: [new PipeTransport()]);
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync($"pipe://{path}");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(path));
        socket.Send(FrameCodec.EncodeFrame(new HelloMessage { Agent = "alloc-probe", MaxFrameBytes = 1 << 20 }));
        socket.Receive(new byte[4096]);

        // Ids from 2^28 up are encoded as uint32 (5 bytes), so the id can be patched in place.
        uint id = 1u << 28;
        using var x = Fixture.Points(1);
        var request = FrameCodec.EncodeFrame(new MaasRequest { Id = id, Operation = Operation.LogDensity, Model = "gaussian1d", X = x });
        var response = new byte[Fixture.FrameSizes(1, id).Response];
        void RoundTrip()
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(7), ++id);
            for (int sent = 0; sent < request.Length;)
            {
                sent += socket.Send(request.AsSpan(sent));
            }

            for (int read = 0; read < response.Length;)
            {
                read += socket.Receive(response.AsSpan(read));
            }
        }

        long before = 0, after = 0;
        using var ticks = new AllocationTicks();

        // On a thread of its own, as an application's caller would be: not on a pool thread the server could use.
        var client = new Thread(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                RoundTrip();
            }

            ticks.Clear();
            before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < roundTrips; i++)
            {
                RoundTrip();
            }

            after = GC.GetTotalAllocatedBytes(precise: true);
        });
        client.Start();
        client.Join();
        Report($"{(after - before) / (double)roundTrips:0.0} B per round trip over {roundTrips:N0} round trips (the whole process; the client allocates nothing)", ticks);
    }

    private static void Report(FormattableString total, AllocationTicks ticks)
    {
        Console.WriteLine(FormattableString.Invariant(total));
        Console.WriteLine("allocation-tick samples by type (in proportion to bytes):");
        foreach (var (type, samples) in ticks.Snapshot().OrderByDescending(kv => kv.Value))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{samples,10} {type}"));
        }
    }

    private sealed class AllocationTicks : EventListener
    {
        private readonly Dictionary<string, long> _samples = new(StringComparer.Ordinal);

        public void Clear()
        {
            lock (_samples)
            {
                _samples.Clear();
            }
        }

        public KeyValuePair<string, long>[] Snapshot()
        {
            lock (_samples)
            {
                return [.. _samples];
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick at verbose
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && eventData.PayloadNames is { } names && eventData.Payload is { } payload)
            {
                int index = names.IndexOf("TypeName");
                string type = index >= 0 ? payload[index]?.ToString() ?? "?" : "?";
                lock (_samples)
                {
                    _samples[type] = _samples.GetValueOrDefault(type) + 1;
                }
            }
        }
    }
}
