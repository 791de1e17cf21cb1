using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Demos.Maas.Client;
using Demos.Maas.Middleware;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// The seed's cure for fast models: a 1-D log-density that spins 10 µs per call plus 10 ns per
/// point, called by 64 concurrent single-point callers. One operation = all 64 calls. Baseline:
/// the same callers calling the model in-process.
/// </summary>
[Config(typeof(RoundTripConfig))]
public class BatchingThroughput
{
    private const int Callers = 64;
    private IModel _local = null!;
    private (MaasServer Server, MaasClient Client, IModel Model) _plain;
    private (MaasServer Server, MaasClient Client, IModel Model) _batched;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _local = SpinModel();
        _plain = await StartAsync(batching: false);
        _batched = await StartAsync(batching: true);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var (server, client, _) in new[] { _plain, _batched })
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Callers, Description = "in-process, 64 callers")]
    public Task InProcess() => CallAllAsync(_local);

    [Benchmark(OperationsPerInvoke = Callers, Description = "pipe://, 64 callers, no batching")]
    public Task PipeUnbatched() => CallAllAsync(_plain.Model);

    [Benchmark(OperationsPerInvoke = Callers, Description = "pipe://, 64 callers, coalescing + dynamic batching")]
    public Task PipeBatched() => CallAllAsync(_batched.Model);

    private static Task CallAllAsync(IModel model)
    {
        var calls = new Task[Callers];
        for (int i = 0; i < Callers; i++)
        {
            double x = i * 0.01;
            calls[i] = Task.Run(async () => await model.LogDensityAsync([x]));
        }

        return Task.WhenAll(calls);
    }

    private static IModel SpinModel() => ModelBuilder.Create("spin")
        .WithInputDimension(1)
        .WithLogDensity((a, result) =>
        {
            long until = Stopwatch.GetTimestamp() + (long)((10e-6 + (10e-9 * a.Rows)) * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(1);
            }

            for (int i = 0; i < a.Rows; i++)
            {
                result[i] = -0.5 * a.X[i] * a.X[i];
            }
        })
        .Build();

    private static async Task<(MaasServer, MaasClient, IModel)> StartAsync(bool batching)
    {
        var options = new MaasServerOptions();
        if (batching)
        {
            options.Batching = new BatchingOptions { MaxBatchRows = Callers, MaxQueueDelay = TimeSpan.FromMilliseconds(1) };
        }

        var server = new MaasServer(options, [new PipeTransport()]);
        server.AddModel(SpinModel());
        var uri = await server.ListenAsync($"pipe://{Path.Combine(Path.GetTempPath(), $"maas-batch-{Guid.NewGuid():N}.sock")}");
        var clientOptions = new MaasClientOptions();
        clientOptions.Transports.Add(new PipeTransport());
        if (batching)
        {
            clientOptions.Coalescing = new BatchingOptions { MaxBatchRows = Callers, MaxQueueDelay = TimeSpan.FromMilliseconds(1) };
        }

        var client = await MaasClient.ConnectAsync(uri, clientOptions);
        return (server, client, await client.GetModelAsync("spin"));
    }
}

/// <summary>What a result-cache hit costs in-process.</summary>
[Config(typeof(RoundTripConfig))]
public class CacheHit
{
    private readonly double[] _destination = new double[8];
    private ResultCache _cache = null!;
    private IModel _model = null!;
    private MaasRequest _request = null!;
    private DoubleMatrix _x = null!;
    private MaasServer _server = null!;
    private MaasClient _client = null!;
    private IModel _cachedRemote = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _cache = new ResultCache(new ResultCacheOptions { AllModels = true });
        _model = GaussianModel.Create(1);
        _x = DoubleMatrix.FromPoint(0.5);
        _request = new MaasRequest { Operation = Operation.LogDensity, Model = "gaussian1d", X = _x };
        using (var y = await _model.LogDensityAsync(_x))
        {
            _cache.Store(_model, _request, _cache.ParameterVersionOf(_model), y);
        }

        _server = new MaasServer();
        _server.AddModel(GaussianModel.Create(1));
        var uri = await _server.ListenAsync($"inproc://cache-{Guid.NewGuid():N}");
        _client = await MaasClient.ConnectAsync(uri, new MaasClientOptions { Cache = new ResultCacheOptions { AllModels = true } });
        _cachedRemote = await _client.GetModelAsync("gaussian1d");
        using var warm = await _cachedRemote.LogDensityAsync(_x);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        _cache.Dispose();
    }

    [Benchmark(Baseline = true, Description = "direct IModel call (no cache)")]
    public async Task Direct()
    {
        using var y = await _model.LogDensityAsync(_x);
    }

    [Benchmark(Description = "ResultCache.TryCopy hit (into caller buffer)")]
    public bool CacheTryCopy() => _cache.TryCopy(_model, _request, _destination, out _, out _);

    [Benchmark(Description = "client-cache hit through RemoteModel.LogDensityAsync")]
    public async Task ClientCacheHit()
    {
        using var y = await _cachedRemote.LogDensityAsync(_x);
    }
}
