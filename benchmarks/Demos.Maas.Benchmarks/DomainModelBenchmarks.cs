using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Transports.Pipe;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// One call of a realistic batch of each physics model: directly on the model in this process (the
/// baseline: what using the model natively costs) and through a Unix socket to <c>maas serve</c> in
/// another process (what serving it costs). The ratio is the overhead of the service.
/// Needs the Release build of the tool: <c>dotnet build src/Demos.Maas.Cli -c Release</c>.
/// </summary>
[Config(typeof(RoundTripConfig))]
public class DomainModelBenchmarks
{
    private Process? _server;
    private MaasClient? _client;
    private IModel _local = null!;
    private IModel _remote = null!;
    private DoubleMatrix _x = null!;
    private bool _evaluate;

    /// <summary>The model.</summary>
    [Params("neutrino-oscillation", "neutrino-fit", "cosmic-ray-propagation", "nuclear-force", "three-pion-decay", "structure-factor")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Demos.Maas.Core.sln"))) { root = Path.GetDirectoryName(root)!; }
        string tool = Path.Combine(root, "src", "Demos.Maas.Cli", "bin", "Release", "net10.0", "maas.dll");
        string socket = Path.Combine(Path.GetTempPath(), $"maas-bench-{Environment.ProcessId}.sock");
        _server = Process.Start(new ProcessStartInfo("dotnet", [tool, "serve", "--model", Model, "--listen", $"pipe://{socket}", "--log-level", "Warning"]) { RedirectStandardOutput = true })!;
        while (await _server.StandardOutput.ReadLineAsync() is { } line && !line.StartsWith("serving", StringComparison.Ordinal)) { }

        var options = new MaasClientOptions();
        options.Transports.Add(new PipeTransport());
        _client = await MaasClient.ConnectAsync($"pipe://{socket}", options);
        _remote = await _client.GetModelAsync(Model);
        _local = ExampleModels.Create(Model);
        _evaluate = !_local.Info.Capabilities.HasFlag(ModelCapabilities.LogDensity);
        _x = Batch(Model);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_client is not null) { await _client.DisposeAsync(); }
        _server?.Kill();
        _server?.WaitForExit();
        _x.Dispose();
    }

    [Benchmark(Baseline = true)]
    public async Task<double> Native() => await CallAsync(_local);

    [Benchmark]
    public async Task<double> Pipe() => await CallAsync(_remote);

    private async Task<double> CallAsync(IModel model)
    {
        using var y = _evaluate ? await model.EvaluateAsync(_x) : await model.LogDensityAsync(_x);
        return y.Span[0];
    }

    // Realistic batches: a spectrum of energies, a grid of momenta, a likelihood per fit step.
    private static DoubleMatrix Batch(string model)
    {
        int rows = model switch { "neutrino-oscillation" => 1000, "neutrino-fit" => 1, "cosmic-ray-propagation" => 100, _ => 10_000 };
        var rowsOf = new double[rows][];
        for (int i = 0; i < rows; i++)
        {
            double t = (i + 0.5) / rows;
            rowsOf[i] = model switch
            {
                "neutrino-oscillation" => [0.2 + (4.8 * t), 1300],
                "neutrino-fit" => [.. Enumerable.Range(0, 2 * NeutrinoFitModel.Bins).Select(b => (double)(20 + (b % 7)))],
                "cosmic-ray-propagation" => [Math.Pow(10, 4 * t)],
                "nuclear-force" => [0.05 + (4 * t), 0.05 + (4 * (1 - t))],
                "three-pion-decay" => [0.1 + (1.6 * t), 0.1 + (1.6 * ((i * 7919 % rows) + 0.5) / rows)],
                _ => [20 * t],
            };
        }

        return DoubleMatrix.FromRows(rowsOf);
    }
}
