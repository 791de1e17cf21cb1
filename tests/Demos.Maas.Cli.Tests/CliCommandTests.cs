using System.Text.Json;
using Demos.Maas.Models;

namespace Demos.Maas.Cli.Tests;

/// <summary>call, health, bench, info --json and serve --config/--assembly, run as a user runs them.</summary>
public sealed class CliCommandTests : IAsyncLifetime
{
    private MaasProcess _server = null!;
    private string _uri = "";

    public async Task InitializeAsync()
    {
        _server = MaasProcess.Start("serve", "--listen", "tcp://127.0.0.1:0", "--log-level", "Warning");
        _uri = "tcp" + await _server.WaitForLineAsync("listening tcp");
        await _server.WaitForLineAsync("serving");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Call_logdensity_reads_json_from_stdin_and_writes_json()
    {
        var (code, stdout, stderr) = await MaasProcess.RunWithInputAsync("{\"x\": [[0.5, 1.0], [\"NaN\", 2]]}", "call", _uri, "gaussian2d", "logdensity");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var y = json.RootElement.GetProperty("y");
        Assert.Equal(GaussianModel.LogDensityOf([0.5, 1.0], [0, 0], [1, 1]), y[0][0].GetDouble(), 12);
        Assert.Equal("NaN", y[1][0].GetString());
    }

    [Fact]
    public async Task Call_evaluate_with_csv_in_and_out_and_theta_from_a_file()
    {
        var (code, stdout, stderr) = await MaasProcess.RunWithInputAsync("100,0.3\n50,0.1\n", "call", _uri, "decay", "evaluate", "--format", "csv");
        Assert.True(code == 0, stderr);
        var rows = stdout.Trim().Split('\n');
        Assert.Equal(2, rows.Length);
        Assert.Equal(DecayModel.Activity(100, 0.3, 5, 2), double.Parse(rows[0].Split(',')[2], System.Globalization.CultureInfo.InvariantCulture), 12);

        string file = Path.Combine(Path.GetTempPath(), $"maas-input-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{\"x\": [[100, 0.3]], \"theta\": [0]}");
        (code, stdout, stderr) = await MaasProcess.RunAsync("call", _uri, "decay", "evaluate", "--input", file);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(100.0, json.RootElement.GetProperty("y")[0][0].GetDouble(), 12);
    }

    [Fact]
    public async Task Call_sample_gradient_data_and_parameters()
    {
        var (code, a, stderr) = await MaasProcess.RunAsync("call", _uri, "gaussian1d", "sample", "--count", "5", "--seed", "9");
        Assert.True(code == 0, stderr);
        var (_, b, _) = await MaasProcess.RunAsync("call", _uri, "gaussian1d", "sample", "--count", "5", "--seed", "9");
        Assert.Equal(a, b);

        (code, var gradient, stderr) = await MaasProcess.RunWithInputAsync("[[1.5]]", "call", _uri, "gaussian1d", "gradient", "--kind", "x");
        Assert.True(code == 0, stderr);
        Assert.Contains("-1.5", gradient);

        (code, var data, stderr) = await MaasProcess.RunAsync("call", _uri, "gaussian1d", "data", "--dataset", "draws", "--offset", "2", "--count", "3", "--format", "csv");
        Assert.True(code == 0, stderr);
        Assert.Equal(3, data.Trim().Split('\n').Length);

        (code, var updated, stderr) = await MaasProcess.RunWithInputAsync("{\"background\": 7.5}", "call", _uri, "decay", "update-parameters");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(updated);
        Assert.Equal(7.5, json.RootElement.GetProperty("values").GetProperty("background")[0].GetDouble());
        Assert.True(json.RootElement.GetProperty("version").GetInt64() >= 2);
    }

    [Theory]
    [InlineData("{\"x\": [[1, 2]", "logdensity", "gaussian2d", "InvalidArgument: the input is not valid JSON")]
    [InlineData("{\"x\": [[1, 2, 3]]}", "logdensity", "gaussian2d", "InvalidArgument: gaussian2d.LogDensity: 'x' has 3 columns")]
    [InlineData("{\"y\": 1}", "logdensity", "gaussian2d", "InvalidArgument: the input needs \"x\"")]
    [InlineData("[[1]]", "logdensity", "no-such-model", "NotFound: No model 'no-such-model'")]
    [InlineData("[[1]]", "fly", "gaussian1d", "InvalidArgument: unknown operation 'fly'")]
    [InlineData("[[1]]", "evaluate", "gaussian1d", "Unsupported: Model 'gaussian1d' does not support Evaluate")]
    public async Task Call_with_bad_input_gives_one_clear_line(string stdin, string operation, string model, string expected)
    {
        var (code, _, stderr) = await MaasProcess.RunWithInputAsync(stdin, "call", _uri, model, operation);
        Assert.NotEqual(0, code);
        Assert.StartsWith($"maas: {expected}", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("[[1]]", "InvalidArgument: unknown format 'xml'", "logdensity", "gaussian1d", "--format", "xml")]
    [InlineData("[[1]]", "InvalidArgument: unknown gradient kind 'z'", "gradient", "gaussian1d", "--kind", "z")]
    [InlineData("[[1]]", "InvalidArgument: sample needs --count N", "sample", "gaussian1d")]
    [InlineData("[[1]]", "InvalidArgument: data needs --dataset NAME", "data", "gaussian1d")]
    [InlineData("[1, 2]", "InvalidArgument: update-parameters reads an object", "update-parameters", "decay")]
    [InlineData("{\"background\": [1, 2]}", "InvalidArgument: decay: parameter 'background' has 1 values; the update has 2", "update-parameters", "decay")]
    [InlineData("[[1, \"x\"]]", "InvalidArgument: 'x': \"x\" is not a number", "logdensity", "gaussian2d")]
    [InlineData("[[1, 2], [3]]", "InvalidArgument: 'x': row 1 has 1 values, row 0 has 2", "logdensity", "gaussian2d")]
    [InlineData("1,2\n3,oops\n", "InvalidArgument: CSV line 2, column 2: 'oops' is not a number", "logdensity", "gaussian2d", "--format", "csv")]
    public async Task Call_options_and_input_with_bad_values_give_one_clear_line(string stdin, string expected, string operation, string model, params string[] extra)
    {
        var (code, _, stderr) = await MaasProcess.RunWithInputAsync(stdin, ["call", _uri, model, operation, .. extra]);
        Assert.NotEqual(0, code);
        Assert.StartsWith($"maas: {expected}", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Call_with_a_missing_input_file_gives_one_clear_line()
    {
        var (code, _, stderr) = await MaasProcess.RunAsync("call", _uri, "gaussian1d", "logdensity", "--input", "/nonexistent/x.json");
        Assert.NotEqual(0, code);
        Assert.StartsWith("maas: InvalidArgument: input file '/nonexistent/x.json' does not exist", stderr.Trim());
    }

    [Theory]
    [InlineData("--requests", "0", "InvalidArgument: --requests must be at least 1")]
    [InlineData("--operation", "fly", "InvalidArgument: unknown operation 'fly'")]
    [InlineData("--warmup-seconds", "-1", "InvalidArgument: --warmup-seconds must be between 0 and 3600, not -1.")]
    [InlineData("--warmup-seconds", "NaN", "InvalidArgument: --warmup-seconds must be between 0 and 3600, not NaN.")]
    [InlineData("--concurrency", "x", "InvalidArgument: --concurrency: 'x' is not a positive integer")]
    [InlineData("--compression", "gzip", "InvalidArgument: --compression 'gzip' is not one of auto, none, lz4, zstd")]
    public async Task Bench_with_bad_options_gives_one_clear_line(string option, string value, string expected)
    {
        var (code, _, stderr) = await MaasProcess.RunAsync("bench", _uri, "gaussian1d", option, value);
        Assert.NotEqual(0, code);
        Assert.StartsWith($"maas: {expected}", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Bench_of_an_mpi_rank_outside_an_MPI_job_gives_one_clear_line()
    {
        var (code, _, stderr) = await MaasProcess.RunAsync("bench", "mpi://1", "gaussian1d", "--requests", "5", "--warmup", "0", "--warmup-seconds", "0");
        Assert.NotEqual(0, code);
        Assert.StartsWith("maas: InvalidArgument: 'mpi://1/' names no other rank", stderr.Trim());
    }

    [Fact]
    public async Task Health_is_zero_when_ready_and_one_when_unreachable()
    {
        var (code, stdout, _) = await MaasProcess.RunAsync("health", _uri);
        Assert.Equal(0, code);
        Assert.StartsWith("ready: 3 models", stdout.Trim());
        (code, stdout, _) = await MaasProcess.RunAsync("health", "tcp://127.0.0.1:1", "--timeout-seconds", "2");
        Assert.Equal(1, code);
        Assert.StartsWith("not ready: Unavailable", stdout.Trim());
    }

    [Fact]
    public async Task Bench_reports_percentiles_and_throughput_as_json_and_table()
    {
        var (code, stdout, stderr) = await MaasProcess.RunAsync("bench", _uri, "gaussian1d", "--batch", "1,64", "--concurrency", "1,4", "--requests", "60", "--warmup", "5", "--warmup-seconds", "0", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var results = json.RootElement.GetProperty("results");
        Assert.Equal(4, results.GetArrayLength());
        foreach (var r in results.EnumerateArray())
        {
            Assert.True(r.GetProperty("p50_us").GetDouble() > 0);
            Assert.True(r.GetProperty("p99_us").GetDouble() >= r.GetProperty("p50_us").GetDouble());
            Assert.True(r.GetProperty("points_per_second").GetDouble() > 0);
        }

        (code, stdout, stderr) = await MaasProcess.RunAsync("bench", _uri, "decay", "--batch", "8", "--concurrency", "2", "--requests", "20", "--warmup", "2", "--warmup-seconds", "0");
        Assert.True(code == 0, stderr);
        Assert.Contains("decay Evaluate", stdout);
        Assert.Contains("p50 µs", stdout);

        // Compression asked for on a loopback connection (automatic mode would not offer it): the server agrees.
        (code, stdout, stderr) = await MaasProcess.RunAsync("bench", _uri, "gaussian1d", "--batch", "16384", "--concurrency", "1", "--requests", "10", "--warmup", "1", "--warmup-seconds", "0", "--compression", "zstd", "--json");
        Assert.True(code == 0, stderr);
        using (var compressed = JsonDocument.Parse(stdout))
        {
            Assert.True(compressed.RootElement.GetProperty("results")[0].GetProperty("p50_us").GetDouble() > 0);
        }

        // The picture: a PNG file, and a clear line when it cannot be written.
        string png = Path.Combine(Path.GetTempPath(), $"maas-bench-{Guid.NewGuid():N}.png");
        (code, _, stderr) = await MaasProcess.RunAsync("bench", _uri, "gaussian1d", "--batch", "1,64", "--concurrency", "1,2", "--requests", "20", "--warmup", "2", "--warmup-seconds", "0", "--plot", png);
        Assert.True(code == 0, stderr);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
        File.Delete(png);
        (code, _, stderr) = await MaasProcess.RunAsync("bench", _uri, "gaussian1d", "--batch", "1", "--concurrency", "1", "--requests", "5", "--warmup", "0", "--warmup-seconds", "0", "--plot", "/nonexistent/dir/bench.png");
        Assert.NotEqual(0, code);
        Assert.StartsWith("maas: InvalidArgument: cannot write the plot to '/nonexistent/dir/bench.png'", stderr.Trim());

        (code, _, stderr) = await MaasProcess.RunAsync("bench", _uri, "decay", "--batch", "0");
        Assert.NotEqual(0, code);
        Assert.StartsWith("maas: InvalidArgument: --batch: '0'", stderr.Trim());
    }

    [Fact]
    public async Task Info_json_describes_the_models()
    {
        var (code, stdout, stderr) = await MaasProcess.RunAsync("info", _uri, "decay", "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var decay = json.RootElement[0];
        Assert.Equal("decay", decay.GetProperty("name").GetString());
        Assert.Equal(DecayModel.Uuid.ToString(), decay.GetProperty("uuid").GetString());
        Assert.Equal(8, decay.GetProperty("output_dim").GetInt32());
        Assert.Equal(decay.GetProperty("caps").GetInt32(), (int)DecayModel.Create().Info.Capabilities);
        Assert.True(decay.TryGetProperty("parameters", out _) && decay.TryGetProperty("parameter_count", out _));
        Assert.Contains("vjp", decay.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task Serve_reads_a_configuration_file_and_loads_models_from_an_assembly()
    {
        string config = Path.Combine(Path.GetTempPath(), $"maas-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """
            {
              // comments are allowed
              "listen": ["tcp://127.0.0.1:0"],
              "models": ["decay"],
              "assemblies": ["ASSEMBLY"],
              "cache": { "allModels": true },
              "batching": { "maxBatchRows": 64, "maxQueueDelayMicroseconds": 100, "flushWhenIdle": true },
              "logLevel": "Warning"
            }
            """.Replace("ASSEMBLY", typeof(TestAssemblyModel).Assembly.Location, StringComparison.Ordinal));
        await using var server = MaasProcess.Start("serve", "--config", config);
        string uri = "tcp" + await server.WaitForLineAsync("listening tcp");
        Assert.Equal("decay, from-assembly", await server.WaitForLineAsync("serving"));
        var (code, stdout, stderr) = await MaasProcess.RunWithInputAsync("[[2.0]]", "call", uri, "from-assembly", "logdensity");
        Assert.True(code == 0, stderr);
        Assert.Contains("[[6]]", stdout);
    }

    [Theory]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"colour\": \"blue\"}", "InvalidArgument: unknown setting 'colour'")]
    [InlineData("{\"listen\": \"tcp://127.0.0.1:0\"}", "InvalidArgument: 'listen' must be an array of strings")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], ", "InvalidArgument: configuration file")]
    [InlineData("{\"models\": [\"decay\"]}", "InvalidArgument: nothing to listen on")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"cache\": {\"sizeLimit\": 1}}", "InvalidArgument: unknown setting 'cache.sizeLimit'")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"batching\": {\"maxBatchRows\": 0}}", "InvalidArgument: 'batching.maxBatchRows' must be a positive integer")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"batching\": {\"flushWhenIdle\": \"yes\"}}", "InvalidArgument: 'batching.flushWhenIdle' must be true or false")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"logLevel\": \"Loud\"}", "InvalidArgument: logLevel")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"maxFrameBytes\": -5}", "InvalidArgument: 'maxFrameBytes' must be a positive integer")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"compression\": \"gzip\"}", "InvalidArgument: compression 'gzip' is not one of auto, none, lz4, zstd")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"compression\": \"lz4,none\"}", "InvalidArgument: compression 'lz4,none' is not 'none' or a comma list of lz4, zstd")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"compression\": \",\"}", "InvalidArgument: compression ',' names no codec")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"models\": [\"nope\"]}", "NotFound: No built-in model 'nope'")]
    [InlineData("{\"listen\": [\"tcp://127.0.0.1:0\"], \"assemblies\": [\"/nonexistent/models.dll\"]}", "NotFound: assembly '/nonexistent/models.dll' does not exist")]
    public async Task Serve_with_a_bad_configuration_gives_one_clear_line(string json, string expected)
    {
        string config = Path.Combine(Path.GetTempPath(), $"maas-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, json);
        var (code, _, stderr) = await MaasProcess.RunAsync("serve", "--config", config);
        Assert.NotEqual(0, code);
        Assert.StartsWith($"maas: {expected}", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
