using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transport;

namespace Demos.Maas.CrossProcess;

/// <summary>One measured case: a transport, the server that answered it, a batch and a concurrency.</summary>
internal sealed record Case(string Transport, string Server, int Batch, int Callers, double P50, double P99, double CallsPerSecond, double PointsPerSecond);

/// <summary>One floor: a ping-pong of the bytes of one round trip, with no protocol.</summary>
internal sealed record Floor(string Name, int Batch, double P50, double P99);

/// <summary>
/// Runs every transport × batch × concurrency against <c>maas serve</c> processes (JIT and
/// NativeAOT), the floors beside them, and writes the raw output, a JSON file, the picture and the
/// report section of docs/benchmarks.md.
/// </summary>
internal static class CrossProcessReport
{
    public static readonly int[] Batches = [1, 64, 4096, 65536];
    public static readonly int[] Concurrency = [1, 16, 64];

    public static async Task<int> RunAsync(ReportOptions options)
    {
        Directory.CreateDirectory(options.OutDir);
        await using var raw = new StreamWriter(Path.Combine(options.OutDir, "raw.txt"));
        var run = new Processes(raw);
        string machine = Machine();
        raw.WriteLine($"machine: {machine}");
        raw.WriteLine($"started: {DateTime.UtcNow:u}");

        var floors = await FloorsAsync(run, options);
        var cases = new List<Case>();
        var notes = new List<string>();
        var references = new List<Floor>();
        if (options.UmBridgeClient is { } umbridgeClient)
        {
            floors.AddRange(await HttpResponderFloorsAsync(run, options, umbridgeClient));
            references.AddRange(await UmBridgeReferenceAsync(run, options, umbridgeClient, notes));
        }

        cases.AddRange(await InProcessAsync(options.Quick));
        foreach (var (kind, maas) in new[] { ("jit", options.Maas), ("aot", options.MaasAot) })
        {
            if (maas is not null)
            {
                cases.AddRange(await ServerCasesAsync(run, kind, maas, options.Quick, options.UmBridgeClient, notes));
            }
        }

        raw.WriteLine($"finished: {DateTime.UtcNow:u}");
        await File.WriteAllTextAsync(Path.Combine(options.OutDir, "results.json"), Json(machine, floors, references, cases, notes));
        string primary = options.MaasAot is not null ? "aot" : "jit";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Image))!);
        Picture(options.Image, floors, cases, primary);
        string section = Markdown(machine, floors, references, cases, notes, options);
        await File.WriteAllTextAsync(Path.Combine(options.OutDir, "report.md"), section);
        if (options.Doc is { } doc)
        {
            Splice(doc, section);
        }

        Console.WriteLine(section);
        return 0;
    }

    /// <summary>
    /// Redraws the picture from a report's results.json, without measuring again. A file that is
    /// missing, not a report's results or an image that cannot be written gives one line and exit 2.
    /// </summary>
    public static int Redraw(string results, string image)
    {
        List<Floor> floors;
        List<Case> cases;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(results));
            var root = json.RootElement;
            floors = [.. root.GetProperty("floors").EnumerateArray()
                .Select(f => new Floor(f.GetProperty("name").GetString()!, f.GetProperty("batch").GetInt32(), f.GetProperty("p50_us").GetDouble(), f.GetProperty("p99_us").GetDouble()))];
            cases = [.. root.GetProperty("cases").EnumerateArray()
                .Select(c => new Case(
                    c.GetProperty("transport").GetString()!, c.GetProperty("server").GetString()!, c.GetProperty("batch").GetInt32(), c.GetProperty("callers").GetInt32(),
                    c.GetProperty("p50_us").GetDouble(), c.GetProperty("p99_us").GetDouble(), c.GetProperty("calls_per_second").GetDouble(), c.GetProperty("points_per_second").GetDouble()))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // KeyNotFound, InvalidOperation and Format: valid JSON that is not a report's results.
            Console.Error.WriteLine($"picture: cannot read the results in '{results}': {ex.Message}");
            return 2;
        }

        try
        {
            Picture(image, floors, cases, cases.Any(c => c.Server == "aot") ? "aot" : "jit");
        }
        catch (MaasException ex)
        {
            Console.Error.WriteLine($"picture: {ex.Message}");
            return 2;
        }

        return 0;
    }

    /// <summary>Bytes of one LogDensity request and response frame of gaussian1d with <paramref name="batch"/> points.</summary>
    public static (int Request, int Response) FrameBytes(int batch)
    {
        using var x = DoubleMatrix.Rent(batch, 1);
        int request = MessageCodec.Encode(new MaasRequest { Id = 1000, Operation = Operation.LogDensity, Model = "gaussian1d", X = x }).Length + 4;
        int response = MessageCodec.Encode(new MaasResponse { Id = 1000, Y = x }).Length + 4;
        return (request, response);
    }

    private static int Rounds(int batch, bool quick) => (batch switch { <= 64 => 20_000, <= 4096 => 4_000, _ => 600 }) / (quick ? 10 : 1);

    /// <summary>
    /// How long the first case of every client process (and every .NET floor) warms up. JIT-compiled
    /// code is recompiled optimised (with the profile it gathered) only after it has run a while: on
    /// this machine a 1-point call over pipe:// still got faster between 2 and 5 s of calls, and
    /// not after. Large batches spend their time copying, which depends little on it.
    /// </summary>
    internal static int WarmupSeconds(int batch) => batch <= 64 ? 5 : 2;

    // Small calls get 20,000 requests: at 64 callers that still takes only a fraction of a second,
    // and this machine's wake-up latency drifts within seconds (6,000 gave 58–112 k calls/s for one
    // server, run after run).
    private static int Requests(int batch, bool quick) => (batch switch { <= 64 => 20_000, <= 4096 => 2_000, _ => 300 }) / (quick ? 10 : 1);

    private static async Task<List<Floor>> FloorsAsync(Processes run, ReportOptions options)
    {
        var floors = new List<Floor>();
        string self = Processes.Self();
        foreach (var (name, program, kind, mode) in new[]
        {
            ("C, Unix socket", options.Pingpong, "unix", ""),
            ("C, TCP loopback", options.Pingpong, "tcp", ""),
            (".NET sync, Unix socket", self, "unix", "sync"),
            (".NET async, Unix socket", self, "unix", "async"),
            (".NET async, TCP loopback", self, "tcp", "async"),
        })
        {
            string where = kind == "unix" ? Path.Combine(Path.GetTempPath(), $"maas-floor-{Guid.NewGuid():N}.sock") : Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture);
            bool dotnet = mode.Length > 0;
            await using var server = await run.StartAsync(program, dotnet ? ["floor-server", kind, where, mode] : ["server", kind, where], "ready");
            foreach (int batch in Batches)
            {
                var (request, response) = FrameBytes(batch);
                string[] args = dotnet
                    ? ["floor-client", kind, where, mode, $"{request}", $"{response}", $"{Rounds(batch, options.Quick)}", $"{WarmupSeconds(batch)}"]
                    : ["client", kind, where, $"{request}", $"{response}", $"{Rounds(batch, options.Quick)}"];

                // Blocking ping-pongs on this kind of virtual machine are bimodal (a sleeping vCPU wakes
                // slowly): the floor is the best of three runs, which makes every ratio to it harder to meet.
                var runs = new List<Floor>();
                for (int i = 0; i < 3; i++)
                {
                    runs.Add(ParseFloor(name, batch, await run.RunAsync(program, args, TimeSpan.FromMinutes(5))));
                }

                floors.Add(runs.MinBy(f => f.P50)!);
            }

            if (kind == "unix")
            {
                File.Delete(where);
            }
        }

        foreach (int batch in Batches)
        {
            var (request, response) = FrameBytes(batch);
            floors.Add(ParseFloor("C, shared memory, busy-poll", batch, await run.RunAsync(options.Pingpong, ["shm", $"{request}", $"{response}", $"{Rounds(batch, options.Quick)}"], TimeSpan.FromMinutes(5))));
        }

        floors.Add(ParseFloor("memcpy there and back, in one process", 65536, await run.RunAsync(options.Pingpong, ["memcpy", $"{65536 * 8}", $"{Rounds(65536, options.Quick)}"], TimeSpan.FromMinutes(5))));
        return floors;
    }

    private static Floor ParseFloor(string name, int batch, string output)
    {
        var parts = output.Trim().Split(' ');
        return new Floor(name, batch, double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>How the report's C UM-Bridge client connects: over one connection, or one per call as UM-Bridge's C++ client does.</summary>
    private static readonly string[] UmBridgeModes = ["keep-alive", "close"];

    private static string UmBridgeClientMode(string mode) => mode == "close" ? "a connection per call" : "one keep-alive connection";

    private static string ResponderFloor(string mode) => $"C HTTP responder, busy-poll, UM-Bridge client with {UmBridgeClientMode(mode)}";

    private static string UmBridgeReference(string mode) => $"UM-Bridge's reference Python server, `/Evaluate` with {UmBridgeClientMode(mode)}";

    /// <summary>
    /// The least any HTTP server can cost the UM-Bridge client here: benchmarks/floors/http_responder.c
    /// answers every request with a fixed answer at once, busy-polling its connection. Best of three runs, as the other floors.
    /// </summary>
    private static async Task<List<Floor>> HttpResponderFloorsAsync(Processes run, ReportOptions options, string client)
    {
        var floors = new List<Floor>();
        if (options.HttpResponder is not { } responder)
        {
            return floors;
        }

        string port = Processes.FreeTcpPort().ToString(CultureInfo.InvariantCulture);
        await using var server = await run.StartAsync(responder, [port], "ready");
        foreach (string mode in UmBridgeModes)
        {
            var best = (await UmBridgeClientRunsAsync(run, client, [port, "gaussian1d", $"{Requests(1, options.Quick)}", $"{WarmupSeconds(1)}", mode])).MinBy(r => r.P50);
            floors.Add(new Floor(ResponderFloor(mode), 1, best.P50, best.P99));
        }

        return floors;
    }

    /// <summary>
    /// UM-Bridge's reference Python server (the umbridge package's serve_models, serving the same
    /// gaussian1d) timed by the same client, through benchmarks/umbridge/time-reference-server.sh;
    /// median of three runs. Where the package is missing the script says so, and the report notes it.
    /// </summary>
    private static async Task<List<Floor>> UmBridgeReferenceAsync(Processes run, ReportOptions options, string client, List<string> notes)
    {
        var references = new List<Floor>();
        if (options.UmBridgeReference is not { } script)
        {
            return references;
        }

        try
        {
            foreach (string mode in UmBridgeModes)
            {
                var runs = await UmBridgeClientRunsAsync(run, script, [client, $"{Requests(1, options.Quick) / 4}", $"{WarmupSeconds(1)}", mode]);
                references.Add(new Floor(UmBridgeReference(mode), 1, Mid(runs.Select(r => r.P50)), Mid(runs.Select(r => r.P99))));
            }
        }
        catch (InvalidOperationException ex)
        {
            notes.Add($"UM-Bridge's reference server did not run: {ex.Message.Split('\n')[0]}");
            references.Clear();
        }

        return references;
    }

    /// <summary>inproc://: client and server in this process (labelled as such in the report).</summary>
    private static async Task<List<Case>> InProcessAsync(bool quick)
    {
        Console.Error.WriteLine("in-process: inproc://");
        var cases = new List<Case>();
        string uri = $"inproc://bench-{Guid.NewGuid():N}";
        await using var server = new MaasServer(new MaasServerOptions(), [new InProcessTransport()]);
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);
        await using var client = await MaasClient.ConnectAsync(uri, new MaasClientOptions { Retry = null });
        var model = await client.GetModelAsync("gaussian1d");
        foreach (int batch in Batches)
        {
            foreach (int callers in Concurrency)
            {
                int requests = Requests(batch, quick);
                var warmupTime = cases.Count == 0 ? TimeSpan.FromSeconds(WarmupSeconds(batch)) : TimeSpan.Zero;
                var r = await BenchCase.RunAsync(model, evaluate: false, batch, callers, requests / 10, warmupTime, requests, null, CancellationToken.None);
                cases.Add(new Case("inproc", "in-process", batch, callers, r.P50, r.P99, r.RequestsPerSecond, r.PointsPerSecond));
            }
        }

        return cases;
    }

    private static async Task<List<Case>> ServerCasesAsync(Processes run, string kind, string maas, bool quick, string? umbridgeClient, List<string> notes)
    {
        var cases = new List<Case>();
        string id = Guid.NewGuid().ToString("N")[..8];
        string pipe = $"pipe://{Path.Combine(Path.GetTempPath(), $"maas-xp-{id}.sock")}";
        string shm = $"shm://maas-xp-{id}";
        string[] listen = [pipe, "tcp://127.0.0.1:0", "http://127.0.0.1:0", shm];
        Background server;
        try
        {
            server = await run.StartAsync(maas, Serve(listen), "listening", listen.Length);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("shm", StringComparison.Ordinal))
        {
            notes.Add($"shm:// is not in this build of maas ({kind}): {ex.Message.Split('\n')[0]}");
            listen = listen[..^1];
            server = await run.StartAsync(maas, Serve(listen), "listening", listen.Length);
        }

        await using (server)
        {
            var uris = server.Ready.Where(l => l.StartsWith("listening ", StringComparison.Ordinal)).Select(l => l["listening ".Length..].Trim()).ToList();

            foreach (string uri in uris)
            {
                await WarmAsync(run, maas, uri, quick, []);
            }

            foreach (string uri in uris)
            {
                string transport = uri[..uri.IndexOf("://", StringComparison.Ordinal)];
                foreach (int batch in Batches)
                {
                    int requests = Requests(batch, quick) / (transport == "http" ? 2 : 1);
                    int warmup = Math.Max(requests / 5, batch <= 64 ? 2000 : 20);
                    if (transport == "shm" && batch == 1)
                    {
                        // With and without resuming callers on the receiving thread, in alternating runs.
                        cases.AddRange(await AlternatingAsync(run, maas, uri, kind, batch, requests, warmup, (transport, []), ("shm+inline-completions", ["--inline-completions"])));
                        continue;
                    }

                    // The cases the targets are judged on run three times; each figure is the median of the three.
                    cases.AddRange(await BenchAsync(run, maas, uri, transport, kind, batch, string.Join(',', Concurrency), requests, warmup, batch is 1 or 65536 ? 3 : 1, []));
                }

                if (transport is "pipe" or "tcp" or "shm")
                {
                    // Payload throughput: the same bytes with a model that does no work (its log-density is its input).
                    int requests = Requests(65536, quick);
                    cases.AddRange(await BenchAsync(run, maas, uri, transport + CopySuffix, kind, 65536, "1", requests, 20, 3, [], CopyModel));
                }

                if (transport == "http" && umbridgeClient is not null)
                {
                    cases.Add(await UmBridgeAsync(run, umbridgeClient, uri, kind, quick, "keep-alive"));
                    cases.Add(await UmBridgeAsync(run, umbridgeClient, uri, kind, quick, "close"));
                }

                if (transport == "pipe")
                {
                    cases.AddRange(await CoalescingAsync(run, maas, uri, "pipe+coalescing", kind, quick, []));

                    // With inline completions the callers of a merged call resume on the thread that
                    // read its answer, and all join the next merged call.
                    cases.AddRange(await CoalescingAsync(run, maas, uri, "pipe+inline-completions+coalescing", kind, quick, ["--inline-completions"]));
                }
            }
        }

        // The same server and client with socket completions on the I/O thread (--inline-io): one
        // thread wake-up less on each side per call. Judged on the same 1-point targets.
        string inlinePipe = $"pipe://{Path.Combine(Path.GetTempPath(), $"maas-xp-{id}-inline.sock")}";
        string[] inlineListen = [inlinePipe, "tcp://127.0.0.1:0"];
        await using (var inline = await run.StartAsync(maas, ["serve", "--inline-io", "--model", "gaussian1d", .. inlineListen.SelectMany(l => new[] { "--listen", l })], "listening", inlineListen.Length))
        {
            foreach (string uri in inline.Ready.Where(l => l.StartsWith("listening ", StringComparison.Ordinal)).Select(l => l["listening ".Length..].Trim()))
            {
                string transport = uri[..uri.IndexOf("://", StringComparison.Ordinal)] + "+inline-io";
                int requests = Requests(1, quick);
                await WarmAsync(run, maas, uri, quick, ["--inline-io"]);
                cases.AddRange(await AlternatingAsync(run, maas, uri, kind, 1, requests, Math.Max(requests / 5, 2000), (transport, ["--inline-io"]), (transport + "+inline-completions", ["--inline-io", "--inline-completions"])));
                if (transport == "pipe+inline-io")
                {
                    cases.AddRange(await CoalescingAsync(run, maas, uri, "pipe+inline-io+coalescing", kind, quick, ["--inline-io"]));
                }
            }
        }

        // MPI: rank 0 is the bench client, rank 1 the worker (both this kind of maas).
        try
        {
            foreach (int batch in Batches)
            {
                int requests = Requests(batch, quick);
                string json = await run.RunAsync("mpirun", ["--allow-run-as-root", "--oversubscribe", "-n", "1", .. Program(maas), "bench", "mpi://1", "gaussian1d", "--batch", $"{batch}", "--concurrency", string.Join(',', Concurrency), "--requests", $"{requests}", "--warmup", $"{Math.Max(requests / 5, batch <= 64 ? 2000 : 20)}", "--warmup-seconds", $"{WarmupSeconds(batch)}", "--json", ":", "-n", "1", .. Program(maas), "mpi-worker", "--model", "gaussian1d"], TimeSpan.FromMinutes(10));
                cases.AddRange(ParseBench(json[json.IndexOf('{', StringComparison.Ordinal)..], "mpi", kind));
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception or JsonException)
        {
            notes.Add($"mpi:// with the {kind} maas did not run: {ex.Message.Split('\n')[0]}");
        }

        return cases;
    }

    /// <summary>
    /// UM-Bridge's <c>/Evaluate</c> route of the server's HTTP listener, called by the C client with
    /// the request UM-Bridge's own client sends (one point of gaussian1d) over one keep-alive
    /// connection or a connection per call (<paramref name="mode"/>), median of three runs.
    /// </summary>
    private static async Task<Case> UmBridgeAsync(Processes run, string client, string uri, string kind, bool quick, string mode)
    {
        string port = new Uri(uri).Port.ToString(CultureInfo.InvariantCulture);
        var runs = await UmBridgeClientRunsAsync(run, client, [port, "gaussian1d", $"{Requests(1, quick)}", $"{WarmupSeconds(1)}", mode]);
        double rate = Mid(runs.Select(r => r.Rate));
        return new Case(mode == "close" ? UmBridgePerCall : UmBridge, kind, 1, 1, Mid(runs.Select(r => r.P50)), Mid(runs.Select(r => r.P99)), rate, rate);
    }

    /// <summary>
    /// Three runs of the C UM-Bridge client, directly or through a script that starts a server for it;
    /// each prints "p50_us p99_us calls_per_second".
    /// </summary>
    private static async Task<List<(double P50, double P99, double Rate)>> UmBridgeClientRunsAsync(Processes run, string program, string[] args)
    {
        var runs = new List<(double P50, double P99, double Rate)>();
        for (int i = 0; i < 3; i++)
        {
            var parts = (await run.RunAsync(program, args, TimeSpan.FromMinutes(5))).Trim().Split(' ');
            runs.Add((double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture)));
        }

        return runs;
    }

    /// <summary>
    /// Client coalescing of 64 callers' single points (maas bench --coalesce: one merged batch in
    /// flight, as large as the load), median of three runs. A run is long enough (100,000 calls) that
    /// the merged batches, not the start, decide its rate.
    /// </summary>
    private static async Task<List<Case>> CoalescingAsync(Processes run, string maas, string uri, string transport, string kind, bool quick, string[] extra)
    {
        int requests = quick ? 10_000 : 100_000;
        return await BenchAsync(run, maas, uri, transport, kind, 1, "64", requests, requests / 10, 3, [.. extra, "--coalesce"]);
    }

    /// <summary>
    /// Runs `maas bench` on one batch size <paramref name="runs"/> times; each figure of the result
    /// is the median over the runs.
    /// </summary>
    private static async Task<List<Case>> BenchAsync(Processes run, string maas, string uri, string transport, string kind, int batch, string concurrency, int requests, int warmup, int runs, string[] extra, string model = "gaussian1d")
    {
        var repeats = new List<List<Case>>();
        for (int i = 0; i < runs; i++)
        {
            string json = await run.RunAsync(maas, ["bench", uri, model, .. extra, "--batch", $"{batch}", "--concurrency", concurrency, "--requests", $"{requests}", "--warmup", $"{warmup}", "--warmup-seconds", $"{WarmupSeconds(batch)}", "--json"], TimeSpan.FromMinutes(10));
            repeats.Add([.. ParseBench(json, transport, kind)]);
        }

        return [.. Median(repeats)];
    }

    /// <summary>
    /// Two variants of one case, run three times each in turns (a, b, a, b, a, b), so that the
    /// machine's drift between minutes falls on both alike; each figure is the median of its three.
    /// </summary>
    private static async Task<List<Case>> AlternatingAsync(Processes run, string maas, string uri, string kind, int batch, int requests, int warmup, (string Transport, string[] Extra) a, (string Transport, string[] Extra) b)
    {
        var first = new List<List<Case>>();
        var second = new List<List<Case>>();
        for (int i = 0; i < 3; i++)
        {
            first.Add(await BenchAsync(run, maas, uri, a.Transport, kind, batch, string.Join(',', Concurrency), requests, warmup, 1, a.Extra));
            second.Add(await BenchAsync(run, maas, uri, b.Transport, kind, batch, string.Join(',', Concurrency), requests, warmup, 1, b.Extra));
        }

        return [.. Median(first), .. Median(second)];
    }

    /// <summary>
    /// Unmeasured calls on every path of a server first (the JIT build compiles and re-tiers its hot
    /// methods), so the transport measured first is not also the one that paid for it.
    /// </summary>
    private static Task<string> WarmAsync(Processes run, string maas, string uri, bool quick, string[] extra) =>
        run.RunAsync(maas, ["bench", uri, "gaussian1d", .. extra, "--batch", "1,4096", "--concurrency", "1,16", "--requests", quick ? "500" : "4000", "--warmup", "0", "--warmup-seconds", $"{WarmupSeconds(1)}", "--json"], TimeSpan.FromMinutes(10));

    /// <summary>Per case (same batch and callers), the median of each figure over the repeated runs.</summary>
    private static IEnumerable<Case> Median(List<List<Case>> runs)
    {
        return runs[0].Select(first =>
        {
            var same = runs.Select(r => r.First(c => c.Batch == first.Batch && c.Callers == first.Callers)).ToList();
            return first with { P50 = Mid(same.Select(c => c.P50)), P99 = Mid(same.Select(c => c.P99)), CallsPerSecond = Mid(same.Select(c => c.CallsPerSecond)), PointsPerSecond = Mid(same.Select(c => c.PointsPerSecond)) };
        });
    }

    /// <summary>The middle of an odd number of figures.</summary>
    private static double Mid(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>`maas serve` of the report's models (gaussian1d and the copy model) on <paramref name="listen"/>.</summary>
    private static string[] Serve(string[] listen) => ["serve", "--model", "gaussian1d", "--model", CopyModel, .. listen.SelectMany(l => new[] { "--listen", l })];

    private static string[] Program(string maas) => maas.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ["dotnet", maas] : [maas];

    private static IEnumerable<Case> ParseBench(string json, string transport, string server)
    {
        using var doc = JsonDocument.Parse(json);
        return [.. doc.RootElement.GetProperty("results").EnumerateArray().Select(r => new Case(
            transport, server, r.GetProperty("batch").GetInt32(), r.GetProperty("callers").GetInt32(),
            r.GetProperty("p50_us").GetDouble(), r.GetProperty("p99_us").GetDouble(),
            r.GetProperty("requests_per_second").GetDouble(), r.GetProperty("points_per_second").GetDouble()))];
    }

    private static string Machine()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        string memory = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal)) is { } m
            ? $"{long.Parse(m.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024 / 1024} GiB" : "?";
        string os = File.Exists("/etc/os-release") ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "Linux" : RuntimeInformation.OSDescription;
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        return $"{cpu}, {Environment.ProcessorCount} cores, {memory}, {os}, {RuntimeInformation.FrameworkDescription}, load average {load} at the start";
    }

    private static string Json(string machine, List<Floor> floors, List<Floor> references, List<Case> cases, List<string> notes)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("machine", machine);

            // The floors, and the other servers measured beside ours (UM-Bridge's reference server).
            foreach (var (property, list) in new[] { ("floors", floors), ("references", references) })
            {
                w.WriteStartArray(property);
                foreach (var f in list)
                {
                    w.WriteStartObject();
                    w.WriteString("name", f.Name);
                    w.WriteNumber("batch", f.Batch);
                    w.WriteNumber("p50_us", f.P50);
                    w.WriteNumber("p99_us", f.P99);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartArray("cases");
            foreach (var c in cases)
            {
                w.WriteStartObject();
                w.WriteString("transport", c.Transport);
                w.WriteString("server", c.Server);
                w.WriteNumber("batch", c.Batch);
                w.WriteNumber("callers", c.Callers);
                w.WriteNumber("p50_us", c.P50);
                w.WriteNumber("p99_us", c.P99);
                w.WriteNumber("calls_per_second", c.CallsPerSecond);
                w.WriteNumber("points_per_second", c.PointsPerSecond);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("notes");
            foreach (var n in notes)
            {
                w.WriteStringValue(n);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The model without work (maas serve --model copy) and how its cases are named.</summary>
    private const string CopyModel = "copy";
    private const string CopySuffix = " (copy model)";

    /// <summary>The case of UM-Bridge's /Evaluate route (one point, one caller).</summary>
    private const string UmBridge = "umbridge";
    private const string UmBridgePerCall = "umbridge-per-call";

    private static readonly string[] TransportOrder = ["inproc", "shm", "shm+inline-completions", "pipe", "tcp", "http", UmBridge, UmBridgePerCall, "mpi", "pipe+inline-io", "tcp+inline-io", "pipe+inline-io+inline-completions", "tcp+inline-io+inline-completions", "pipe+coalescing", "pipe+inline-completions+coalescing", "pipe+inline-io+coalescing", "shm" + CopySuffix, "pipe" + CopySuffix, "tcp" + CopySuffix];

    private static void Picture(string path, List<Floor> floors, List<Case> cases, string server)
    {
        var latency = new List<BenchSeries>();
        var throughput = new List<BenchSeries>();
        foreach (var t in TransportOrder.Where(t => !t.EndsWith(CopySuffix, StringComparison.Ordinal) && t is not (UmBridge or UmBridgePerCall)))
        {
            var mine = cases.Where(c => c.Transport == t && (c.Server == server || c.Server == "in-process")).ToList();
            var single = mine.Where(c => c.Callers == 1).OrderBy(c => c.Batch).ToList();
            if (single.Count > 0)
            {
                latency.Add(new BenchSeries(t == "inproc" ? "inproc (in-process)" : t, [.. single.Select(c => (double)c.Batch)], [.. single.Select(c => c.P50)]));
            }

            var points = mine.Where(c => c.Batch == 1).OrderBy(c => c.Callers).ToList();
            if (points.Count > 1)
            {
                throughput.Add(new BenchSeries(t == "inproc" ? "inproc (in-process)" : t, [.. points.Select(c => (double)c.Callers)], [.. points.Select(c => c.CallsPerSecond)]));
            }
        }

        foreach (var name in new[] { "C, Unix socket", ".NET async, Unix socket", "C, shared memory, busy-poll" })
        {
            var f = floors.Where(f => f.Name == name).OrderBy(f => f.Batch).ToList();
            latency.Add(new BenchSeries($"floor: {name}", [.. f.Select(x => (double)x.Batch)], [.. f.Select(x => x.P50)], Dashed: true));
        }

        BenchPlot.Save(path, $"gaussian1d LogDensity, {server.ToUpperInvariant()} server", "p50 latency, 1 caller (µs)", latency, "calls per second, 1 point each", throughput);
    }

    /// <summary>How a transport's row is named in the tables: `pipe://`, `pipe://` with --inline-io, ….</summary>
    private static string Label(string transport) => transport switch
    {
        "inproc" => "`inproc://` (in-process)",
        UmBridge => "UM-Bridge `/Evaluate` over `http://`, one keep-alive connection",
        UmBridgePerCall => "UM-Bridge `/Evaluate` over `http://`, a connection per call",
        _ when transport.Contains('+', StringComparison.Ordinal) && !transport.EndsWith("+coalescing", StringComparison.Ordinal) =>
            $"`{transport[..transport.IndexOf('+', StringComparison.Ordinal)]}://` with " + string.Join(' ', transport.Split('+')[1..].Select(flag => $"`--{flag}`")),
        _ => $"`{transport}://`",
    };

    private static string Markdown(string machine, List<Floor> floors, List<Floor> references, List<Case> cases, List<string> notes, ReportOptions options)
    {
        var md = new StringBuilder();
        string F(double v) => v.ToString(v >= 100 ? "#,0" : "0.0", CultureInfo.InvariantCulture);
        double? FloorP50(string name, int batch) => floors.FirstOrDefault(f => f.Name == name && f.Batch == batch)?.P50;
        Case? Find(string t, string server, int batch, int callers) => cases.FirstOrDefault(c => c.Transport == t && (c.Server == server || c.Server == "in-process") && c.Batch == batch && c.Callers == callers);
        string[] servers = [.. cases.Select(c => c.Server).Where(s => s != "in-process").Distinct()];

        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {machine}. Model: `gaussian1d` LogDensity; at 65,536 points also `copy`, whose log-density is");
        md.AppendLine("its input (no model work: the payload throughput of the transport and the protocol). Client and server are separate processes");
        md.AppendLine("(`maas bench` against `maas serve`, the same build for both: JIT = `dotnet maas.dll`, AOT = the NativeAOT");
        md.AppendLine("binary); `inproc` runs both in one process and is labelled in-process. Floors move exactly the bytes of the");
        md.AppendLine("same request and response frames, with no protocol, measured in the same run (best of three runs each,");
        md.AppendLine("since blocking ping-pongs on this virtual machine are bimodal); the cases at 1 and 65,536 points are the");
        md.AppendLine("median of three runs. Every client process (and every .NET floor) warms up before it measures: 5 s of calls");
        md.AppendLine("at up to 64 points, 2 s at larger batches, so that JIT-compiled code has been recompiled optimised. Raw output:");
        md.AppendLine(CultureInfo.InvariantCulture, $"`{options.OutDir}/raw.txt`, all figures: `{options.OutDir}/results.json`.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![latency against batch size and throughput against concurrency]({Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(options.Doc ?? "docs/benchmarks.md"))!, Path.GetFullPath(options.Image)).Replace('\\', '/')})");
        md.AppendLine();

        md.AppendLine("**One point, one caller, p50 µs:**");
        md.AppendLine();
        md.AppendLine("| | " + string.Join(" | ", servers.Select(s => s.ToUpperInvariant() + " server")) + " |");
        md.AppendLine("|---|" + string.Concat(servers.Select(_ => "---:|")));
        foreach (var f in floors.Where(f => f.Batch == 1))
        {
            md.AppendLine(FormattableString.Invariant($"| floor: {f.Name} | ") + string.Join(" | ", servers.Select(_ => F(f.P50))) + " |");
        }

        foreach (var r in references)
        {
            md.AppendLine(FormattableString.Invariant($"| {r.Name} | ") + string.Join(" | ", servers.Select(_ => F(r.P50))) + " |");
        }

        foreach (var t in TransportOrder.Where(t => !t.EndsWith("+coalescing", StringComparison.Ordinal)))
        {
            if (cases.Any(c => c.Transport == t && c.Batch == 1 && c.Callers == 1))
            {
                md.AppendLine(FormattableString.Invariant($"| {Label(t)} | ") + string.Join(" | ", servers.Select(s => Find(t, s, 1, 1) is { } c ? F(c.P50) : "—")) + " |");
            }
        }

        md.AppendLine();
        md.AppendLine("**Against the targets** (ratios of figures from this run):");
        md.AppendLine();
        md.AppendLine("| target | " + string.Join(" | ", servers.Select(s => s.ToUpperInvariant())) + " |");
        md.AppendLine("|---|" + string.Concat(servers.Select(_ => "---|")));
        void Target(string name, Func<string, (double Value, bool Met)?> measure, string unit)
        {
            md.AppendLine(FormattableString.Invariant($"| {name} | ") + string.Join(" | ", servers.Select(s => measure(s) is { } m ? $"{m.Value.ToString("0.00", CultureInfo.InvariantCulture)}{unit} {(m.Met ? "met" : "**not met**")}" : "not measured")) + " |");
        }

        (double, bool)? Ratio(double? a, double? b, double limit, bool atMost = true) =>
            a is { } x && b is { } y && y > 0 ? (x / y, atMost ? x / y <= limit : x / y >= limit) : null;
        Target("`pipe://` p50 ≤ 1.5 × .NET async Unix-socket ping-pong", s => Ratio(Find("pipe", s, 1, 1)?.P50, FloorP50(".NET async, Unix socket", 1), 1.5), " ×");
        Target("`tcp://` p50 ≤ 1.5 × .NET async TCP ping-pong", s => Ratio(Find("tcp", s, 1, 1)?.P50, FloorP50(".NET async, TCP loopback", 1), 1.5), " ×");
        Target("`pipe://` with `--inline-io` p50 ≤ 1.5 × .NET async Unix-socket ping-pong", s => Ratio(Find("pipe+inline-io", s, 1, 1)?.P50, FloorP50(".NET async, Unix socket", 1), 1.5), " ×");
        Target("`tcp://` with `--inline-io` p50 ≤ 1.5 × .NET async TCP ping-pong", s => Ratio(Find("tcp+inline-io", s, 1, 1)?.P50, FloorP50(".NET async, TCP loopback", 1), 1.5), " ×");
        Target("`pipe://` with `--inline-io --inline-completions` p50 ≤ 1.5 × .NET async Unix-socket ping-pong", s => Ratio(Find("pipe+inline-io+inline-completions", s, 1, 1)?.P50, FloorP50(".NET async, Unix socket", 1), 1.5), " ×");
        Target("`tcp://` with `--inline-io --inline-completions` p50 ≤ 1.5 × .NET async TCP ping-pong", s => Ratio(Find("tcp+inline-io+inline-completions", s, 1, 1)?.P50, FloorP50(".NET async, TCP loopback", 1), 1.5), " ×");
        Target("`http://` p50 ≤ 2 × `tcp://`", s => Ratio(Find("http", s, 1, 1)?.P50, Find("tcp", s, 1, 1)?.P50, 2), " ×");
        // UM-Bridge's reference server is a Python package (umbridge) from PyPI; a run without it measures only our side.
        double? ReferenceP50(string mode) => references.FirstOrDefault(r => r.Name == UmBridgeReference(mode))?.P50;
        Target("UM-Bridge `/Evaluate` p50 ≥ 10 × faster than UM-Bridge's reference Python server, same client, one keep-alive connection", s => Ratio(ReferenceP50("keep-alive"), Find(UmBridge, s, 1, 1)?.P50, 10, atMost: false), " ×");
        Target("UM-Bridge `/Evaluate` p50 ≥ 10 × faster than UM-Bridge's reference Python server, same client, a connection per call", s => Ratio(ReferenceP50("close"), Find(UmBridgePerCall, s, 1, 1)?.P50, 10, atMost: false), " ×");
        Target("`shm://` p50 ≤ 0.3 × `pipe://`", s => Ratio(Find("shm", s, 1, 1)?.P50, Find("pipe", s, 1, 1)?.P50, 0.3), " ×");
        Target("`shm://` p50 ≤ 2 × C busy-poll shared memory", s => Ratio(Find("shm", s, 1, 1)?.P50, FloorP50("C, shared memory, busy-poll", 1), 2), " ×");
        Target("`shm://` with `--inline-completions` p50 ≤ 0.3 × `pipe://`", s => Ratio(Find("shm+inline-completions", s, 1, 1)?.P50, Find("pipe", s, 1, 1)?.P50, 0.3), " ×");
        Target("`shm://` with `--inline-completions` p50 ≤ 2 × C busy-poll shared memory", s => Ratio(Find("shm+inline-completions", s, 1, 1)?.P50, FloorP50("C, shared memory, busy-poll", 1), 2), " ×");
        Target("`shm://` batch 65,536 throughput ≥ 70 % of memcpy there and back", s => Ratio(FloorP50("memcpy there and back, in one process", 65536), Find("shm", s, 65536, 1)?.P50, 0.7, atMost: false), "");
        Target("`pipe://` batch 65,536 payload throughput ≥ 50 % of the C Unix-socket ping-pong", s => Ratio(FloorP50("C, Unix socket", 65536), Find("pipe", s, 65536, 1)?.P50, 0.5, atMost: false), "");
        Target("`shm://` batch 65,536, `copy` model: throughput ≥ 70 % of memcpy there and back", s => Ratio(FloorP50("memcpy there and back, in one process", 65536), Find("shm" + CopySuffix, s, 65536, 1)?.P50, 0.7, atMost: false), "");
        Target("`pipe://` batch 65,536, `copy` model: payload throughput ≥ 50 % of the C Unix-socket ping-pong", s => Ratio(FloorP50("C, Unix socket", 65536), Find("pipe" + CopySuffix, s, 65536, 1)?.P50, 0.5, atMost: false), "");
        Target("`pipe://` 64 callers × 1 point ≥ 100,000 calls/s", s => Find("pipe", s, 1, 64) is { } c ? (c.CallsPerSecond / 100_000, c.CallsPerSecond >= 100_000) : null, " × 100k/s");
        Target("`pipe://` with `--inline-io`, 64 callers × 1 point ≥ 100,000 calls/s", s => Find("pipe+inline-io", s, 1, 64) is { } c ? (c.CallsPerSecond / 100_000, c.CallsPerSecond >= 100_000) : null, " × 100k/s");
        Target("`pipe://` with coalescing, 64 callers ≥ 5 × 100,000 calls/s", s => Find("pipe+coalescing", s, 1, 64) is { } c ? (c.CallsPerSecond / 500_000, c.CallsPerSecond >= 500_000) : null, " × 500k/s");
        Target("`pipe://` with coalescing and `--inline-completions`, 64 callers ≥ 5 × 100,000 calls/s", s => Find("pipe+inline-completions+coalescing", s, 1, 64) is { } c ? (c.CallsPerSecond / 500_000, c.CallsPerSecond >= 500_000) : null, " × 500k/s");
        Target("`pipe://` with coalescing and `--inline-io`, 64 callers ≥ 5 × 100,000 calls/s", s => Find("pipe+inline-io+coalescing", s, 1, 64) is { } c ? (c.CallsPerSecond / 500_000, c.CallsPerSecond >= 500_000) : null, " × 500k/s");
        md.AppendLine();

        // What the floors themselves reach on the shm:// targets: the bound any implementation meets on this machine.
        if (FloorP50("C, shared memory, busy-poll", 65536) is { } shmFloor && FloorP50("memcpy there and back, in one process", 65536) is { } memcpy)
        {
            string AgainstShmFloor(string transport) => string.Join(", ", servers.Select(s => Find(transport, s, 65536, 1) is { } c ? FormattableString.Invariant($"{shmFloor / c.P50:0.00} ({s.ToUpperInvariant()})") : $"not measured ({s.ToUpperInvariant()})"));
            md.AppendLine(FormattableString.Invariant($"The C busy-poll shared-memory ping-pong of the same 65,536-point frames, with no protocol, reaches {memcpy / shmFloor:0.00} of memcpy there and back in this run: the bound of any shared-memory transport here against the 70 % target. Against that floor, `shm://` reaches {AgainstShmFloor("shm")}, and with the `copy` model {AgainstShmFloor("shm" + CopySuffix)}."));
            if (FloorP50("C, shared memory, busy-poll", 1) is { } shmFloor1 && cases.FirstOrDefault(c => c.Transport == "inproc" && c.Batch == 1 && c.Callers == 1) is { } inproc)
            {
                md.AppendLine(FormattableString.Invariant($"A 1-point call with no transport at all (`inproc`, in one process) takes {inproc.P50:0.0} µs, {inproc.P50 / shmFloor1:0} × the C busy-poll floor of {shmFloor1:0.00} µs."));
            }

            md.AppendLine();
        }

        foreach (var s in servers)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"**Every case, {s.ToUpperInvariant()} server** (p50 / p99 µs, calls per second; `inproc` in-process):");
            md.AppendLine();
            md.AppendLine("| transport | batch | " + string.Join(" | ", Concurrency.Select(c => $"{c} caller{(c == 1 ? "" : "s")}")) + " |");
            md.AppendLine("|---|---:|" + string.Concat(Concurrency.Select(_ => "---:|")));
            foreach (var t in TransportOrder)
            {
                foreach (int batch in Batches)
                {
                    var row = Concurrency.Select(c => Find(t, s, batch, c)).ToList();
                    if (row.All(c => c is null))
                    {
                        continue;
                    }

                    md.AppendLine(FormattableString.Invariant($"| `{t}` | {batch:#,0} | ") + string.Join(" | ", row.Select(c => c is null ? "—" : $"{F(c.P50)} / {F(c.P99)}, {c.CallsPerSecond:#,0}/s")) + " |");
                }
            }

            md.AppendLine();
        }

        if (cases.Any(c => c.Transport == UmBridge))
        {
            md.AppendLine("The UM-Bridge rows time `/Evaluate` with a C client (`benchmarks/clients/umbridge_evaluate.c`) that sends the");
            md.AppendLine("request UM-Bridge's C++ client sends, over one keep-alive connection or over a connection per call (`Connection:");
            md.AppendLine("close`), which is what UM-Bridge's C++ client does: its HTTP client does not keep connections alive.");
            if (references.Count > 0)
            {
                md.AppendLine("UM-Bridge's reference server is the `umbridge` Python package's `serve_models` serving the same model");
                md.AppendLine("(`benchmarks/umbridge/gaussian_reference.py`, timed by `benchmarks/umbridge/time-reference-server.sh`).");
            }
            else
            {
                md.AppendLine("UM-Bridge's reference server is not in this run: it needs the `umbridge` Python package (from PyPI, or a");
                md.AppendLine("checkout of github.com/UM-Bridge/umbridge on `PYTHONPATH`) and aiohttp; the script passes it to the report");
                md.AppendLine("when `/usr/bin/python3` can import both.");
            }

            var keptFloor = floors.FirstOrDefault(f => f.Name == ResponderFloor("keep-alive"));
            var perCallFloor = floors.FirstOrDefault(f => f.Name == ResponderFloor("close"));
            if (keptFloor is not null && perCallFloor is not null && ReferenceP50("keep-alive") is { } kept && ReferenceP50("close") is { } perCall)
            {
                md.AppendLine(FormattableString.Invariant($"The C HTTP responder's floor bounds what any server can reach against the reference server with this client here: {kept / keptFloor.P50:0.0} × over one connection, {perCall / perCallFloor.P50:0.0} × with a connection per call."));
            }

            md.AppendLine();
        }

        md.AppendLine("**Floors, every batch** (p50 / p99 µs, one caller):");
        md.AppendLine();
        md.AppendLine("| floor | " + string.Join(" | ", Batches.Select(b => b.ToString("#,0", CultureInfo.InvariantCulture))) + " |");
        md.AppendLine("|---|" + string.Concat(Batches.Select(_ => "---:|")));
        foreach (var name in floors.Select(f => f.Name).Distinct())
        {
            md.AppendLine(FormattableString.Invariant($"| {name} | ") + string.Join(" | ", Batches.Select(b => floors.FirstOrDefault(f => f.Name == name && f.Batch == b) is { } f ? $"{F(f.P50)} / {F(f.P99)}" : "—")) + " |");
        }

        if (notes.Count > 0)
        {
            md.AppendLine();
            foreach (var n in notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {n}");
            }
        }

        return md.ToString();
    }

    private const string Begin = "<!-- cross-process:begin -->";
    private const string End = "<!-- cross-process:end -->";

    /// <summary>Replaces the generated section of <paramref name="doc"/> (between its markers) with <paramref name="section"/>.</summary>
    private static void Splice(string doc, string section)
    {
        string text = File.ReadAllText(doc);
        int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            throw new InvalidOperationException($"{doc} has no {Begin} … {End} section to fill.");
        }

        File.WriteAllText(doc, text[..(begin + Begin.Length)] + "\n" + section + text[end..]);
    }
}
