// The C# client of the cross-language matrix.
//   maas-matrix-client client <uri> <model> <points>     remote log-densities, one per line (round-trip format)
//   maas-matrix-client reference <example> <points>      a built-in example model evaluated in-process
//   maas-matrix-client bench <uri> <model> <dim> <seconds>  1-point p50 (µs) and batch-65,536 throughput
using System.Diagnostics;
using System.Globalization;
using Demos.Maas;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

try
{
    return args switch
    {
        ["client", var uri, var model, var points] => await ClientAsync(uri, model, points),
        ["reference", var model, var points] => await ReferenceAsync(model, points),
        ["bench", var uri, var model, var dim, var seconds] => await BenchAsync(uri, model, int.Parse(dim, CultureInfo.InvariantCulture), double.Parse(seconds, CultureInfo.InvariantCulture)),
        _ => Usage(),
    };
}
catch (MaasException ex)
{
    Console.Error.WriteLine($"{ex.Code}: {ex.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: maas-matrix-client client <uri> <model> <points> | reference <example> <points> | bench <uri> <model> <dim> <seconds>");
    return 2;
}

static DoubleMatrix ReadPoints(string path)
{
    var numbers = File.ReadAllText(path).Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);
    int n = int.Parse(numbers[0], CultureInfo.InvariantCulture), d = int.Parse(numbers[1], CultureInfo.InvariantCulture);
    var values = numbers.Skip(2).Take(n * d).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    return DoubleMatrix.Wrap(values, n, d);
}

static void Print(DoubleMatrix values)
{
    foreach (double v in values.Span)
    {
        Console.WriteLine(v.ToString("R", CultureInfo.InvariantCulture));
    }
}

static MaasClientOptions Options()
{
    var options = new MaasClientOptions { DefaultTimeout = TimeSpan.FromSeconds(60) };
    options.Transports.Add(new PipeTransport());
    options.Transports.Add(new TcpTransport());
    options.Transports.Add(new InProcessTransport());
    return options;
}

static async Task<int> ClientAsync(string uri, string model, string points)
{
    await using var client = await MaasClient.ConnectAsync(uri, Options());
    var remote = await client.GetModelAsync(model);
    using var x = ReadPoints(points);
    using var logp = await remote.LogDensityAsync(x);
    Print(logp);
    return 0;
}

static async Task<int> ReferenceAsync(string model, string points)
{
    var local = ExampleModels.Create(model);
    using var x = ReadPoints(points);
    using var logp = await local.LogDensityAsync(x);
    Print(logp);
    return 0;
}

static async Task<int> BenchAsync(string uri, string model, int dim, double seconds)
{
    await using var client = await MaasClient.ConnectAsync(uri, Options());
    var remote = await client.GetModelAsync(model);
    var one = DoubleMatrix.Zeros(1, dim);
    var latencies = new List<double>();
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds || latencies.Count < 200)
    {
        long start = Stopwatch.GetTimestamp();
        using var r = await remote.LogDensityAsync(one);
        latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
    }

    latencies.Sort();
    var batch = DoubleMatrix.Zeros(65536, dim);
    var random = new SeededRandom(1);
    for (int i = 0; i < batch.Length; i++) { batch.Span[i] = random.NextDouble(); }
    int calls = 0;
    clock.Restart();
    while (clock.Elapsed.TotalSeconds < seconds || calls < 5)
    {
        using var r = await remote.LogDensityAsync(batch);
        calls++;
    }

    double pointsPerSecond = calls * 65536.0 / clock.Elapsed.TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"csharp p50_us={latencies[latencies.Count / 2]:F1} p99_us={latencies[(int)(latencies.Count * 0.99)]:F1} batch65536_points_per_s={pointsPerSecond:F0} samples={latencies.Count}"));
    return 0;
}
