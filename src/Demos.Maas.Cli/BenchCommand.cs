using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Demos.Maas.Client;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas bench URI MODEL</c>: latency percentiles and throughput of LogDensity or Evaluate for
/// chosen batch sizes and concurrency levels, with a progress bar on a terminal and a summary
/// table (or JSON).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("uri") { Description = "Server URI, or maas+lb:///MODEL?e=URI&e=URI to spread the calls over several servers (maas://uuid entries are resolved through MAAS_REGISTRY)" };
        var model = new Argument<string>("model") { Description = "Model name or uuid" };
        var op = new Option<string>("--operation") { Description = "logdensity | evaluate (default: what the model has)", DefaultValueFactory = _ => "" };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma separated", DefaultValueFactory = _ => "1,4096" };
        var concurrency = new Option<string>("--concurrency") { Description = "Concurrent callers, comma separated", DefaultValueFactory = _ => "1,8" };
        var requests = new Option<int>("--requests") { Description = "Measured requests per case", DefaultValueFactory = _ => 2000 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured requests per case", DefaultValueFactory = _ => 200 };
        var warmupSeconds = new Option<double>("--warmup-seconds")
        {
            Description = "The first case also warms up until this many seconds have passed (default 5): JIT-compiled code reaches its optimised form only after it has run a while",
            DefaultValueFactory = _ => 5,
        };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var compression = new Option<string?>("--compression") { Description = "auto (default: only to other hosts), none, lz4 or zstd" };
        var coalesce = new Option<bool>("--coalesce") { Description = "Merge the concurrent callers' small calls into batched requests (client coalescing)" };
        var plot = new Option<string?>("--plot") { Description = "Also draw the results into this PNG: latency against batch size, throughput against concurrency" };
        var inlineIo = new Option<bool>("--inline-io") { Description = "Run this client's asynchronous socket completions on the I/O thread (TLS and HTTP connections; pipe:// and tcp:// read on a thread of their own)" };
        var inlineCompletions = new Option<bool>("--inline-completions") { Description = "Resume each caller on the thread that read its answer (MaasClientOptions.InlineCompletions: one thread wake-up less per call)" };
        var command = new Command("bench", "Measure latency percentiles and throughput.") { uri, model, op, batches, concurrency, requests, warmup, warmupSeconds, json, compression, coalesce, plot, inlineIo, inlineCompletions };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            if (result.GetValue(inlineIo))
            {
                InlineIo.Enable();
            }

            int[] batchSizes = ParseList(result.GetValue(batches)!, "--batch");
            int[] callers = ParseList(result.GetValue(concurrency)!, "--concurrency");
            int measured = result.GetValue(requests);
            int unmeasured = result.GetValue(warmup);
            double warmupTime = result.GetValue(warmupSeconds);
            if (measured < 1 || unmeasured < 0)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "--requests must be at least 1 and --warmup not negative.");
            }

            if (!(warmupTime is >= 0 and <= 3600))
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"--warmup-seconds must be between 0 and 3600, not {warmupTime.ToString(CultureInfo.InvariantCulture)}.");
            }

            var options = Transports.ClientOptions();
            options.Retry = null;
            options.InlineCompletions = result.GetValue(inlineCompletions);
            if (result.GetValue(coalesce))
            {
                options.Coalescing = new Middleware.BatchingOptions { FlushWhenIdle = true };
            }

            if (result.GetValue(compression) is { } codec)
            {
                options.Compression = Transports.ClientCompression(codec, "--compression");
            }

            // mpi://RANK: this process is rank 0 of an MPMD job (mpirun -n 1 maas bench mpi://1 … : -n 1 maas mpi-worker …).
            await using var mpi = result.GetValue(uri)!.StartsWith("mpi://", StringComparison.OrdinalIgnoreCase) ? await Demos.Maas.Transports.Mpi.MpiRuntime.StartAsync().ConfigureAwait(false) : null;
            if (mpi is not null)
            {
                options.Transports.Add(new Demos.Maas.Transports.Mpi.MpiTransport(mpi));
            }

            string address = result.GetValue(uri)!;
            await using var connection = await ModelTarget.ConnectAsync(address, result.GetValue(model)!, options, ct).ConfigureAwait(false);
            var remote = connection.Model;
            bool evaluate = result.GetValue(op) switch
            {
                "evaluate" => true,
                "logdensity" => false,
                "" => !remote.Info.Has(ModelCapabilities.LogDensity),
                var other => throw new MaasException(MaasErrorCode.InvalidArgument, $"unknown operation '{other}'; use logdensity or evaluate."),
            };
            bool progress = !Console.IsOutputRedirected && !result.GetValue(json);
            var rows = new List<BenchResult>();
            int total = batchSizes.Length * callers.Length, done = 0;
            foreach (int batch in batchSizes)
            {
                foreach (int c in callers)
                {
                    // Later cases run the same code, already optimised: their requests warm up the batch size and concurrency.
                    var warmupTimeOfCase = done == 0 ? TimeSpan.FromSeconds(warmupTime) : TimeSpan.Zero;
                    if (progress && warmupTimeOfCase > TimeSpan.Zero)
                    {
                        // Otherwise the first seconds look like a hang.
                        Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rwarming up for {warmupTime:0.#} s (--warmup-seconds) ..."));
                    }

                    rows.Add(await BenchCase.RunAsync(remote, evaluate, batch, c, unmeasured, warmupTimeOfCase, measured, progress ? fraction => DrawProgress((done + fraction) / total, batch, c) : null, ct).ConfigureAwait(false));
                    done++;
                }
            }

            if (progress)
            {
                Console.Write("\r" + new string(' ', 70) + "\r");
            }

            if (result.GetValue(json))
            {
                PrintJson(remote.Info.Name, evaluate ? "evaluate" : "logdensity", rows);
            }
            else
            {
                Console.WriteLine($"{remote.Info.Name} {(evaluate ? "Evaluate" : "LogDensity")} at {connection.Where}");
                Console.WriteLine($"{"batch",8} {"callers",8} {"p50 µs",10} {"p90 µs",10} {"p99 µs",10} {"req/s",12} {"points/s",14}");
                foreach (var r in rows)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Batch,8} {r.Callers,8} {r.P50,10:0.0} {r.P90,10:0.0} {r.P99,10:0.0} {r.RequestsPerSecond,12:0} {r.PointsPerSecond,14:0}"));
                }
            }

            if (result.GetValue(plot) is { } png)
            {
                Plot(png, $"{remote.Info.Name} at {connection.Where}", rows);
                Console.Error.WriteLine($"plot written to {Path.GetFullPath(png)}");
            }

            return 0;
        }));
        return command;
    }

    private static readonly Lock ProgressLock = new();

    private static void DrawProgress(double fraction, int batch, int callers)
    {
        lock (ProgressLock)
        {
            int filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * 30);
            Console.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {fraction * 100,5:0.0}%  batch {batch}, {callers} callers   "));
        }
    }

    private static int[] ParseList(string text, string option)
    {
        var values = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"{option}: '{part}' is not a positive integer.");
            }

            values.Add(v);
        }

        return values.Count > 0 ? [.. values] : throw new MaasException(MaasErrorCode.InvalidArgument, $"{option} needs at least one value.");
    }

    private static void PrintJson(string model, string operation, List<BenchResult> rows)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("model", model);
            writer.WriteString("operation", operation);
            writer.WriteStartArray("results");
            foreach (var r in rows)
            {
                writer.WriteStartObject();
                writer.WriteNumber("batch", r.Batch);
                writer.WriteNumber("callers", r.Callers);
                writer.WriteNumber("p50_us", Math.Round(r.P50, 2));
                writer.WriteNumber("p90_us", Math.Round(r.P90, 2));
                writer.WriteNumber("p99_us", Math.Round(r.P99, 2));
                writer.WriteNumber("requests_per_second", Math.Round(r.RequestsPerSecond, 1));
                writer.WriteNumber("points_per_second", Math.Round(r.PointsPerSecond, 1));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        Console.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }


    /// <summary>p50 against batch size (a line per concurrency) and calls per second against concurrency (a line per batch size).</summary>
    private static void Plot(string path, string title, List<BenchResult> rows)
    {
        var latency = rows.GroupBy(r => r.Callers).Select(g => new BenchSeries(
            string.Create(CultureInfo.InvariantCulture, $"p50, {g.Key} caller{(g.Key == 1 ? "" : "s")}"), [.. g.Select(r => (double)r.Batch)], [.. g.Select(r => r.P50)])).ToList();
        var throughput = rows.GroupBy(r => r.Batch).Select(g => new BenchSeries(
            string.Create(CultureInfo.InvariantCulture, $"batch {g.Key}"), [.. g.Select(r => (double)r.Callers)], [.. g.Select(r => r.RequestsPerSecond)])).ToList();
        BenchPlot.Save(path, title, "p50 latency (µs)", latency, "calls per second", throughput);
    }
}
