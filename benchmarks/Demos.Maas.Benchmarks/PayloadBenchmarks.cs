using BenchmarkDotNet.Attributes;
using Demos.Maas.Client;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// Transport efficiency for large batches: a model whose log-density is its input (a copy, no
/// arithmetic), so a MaaS round trip moves exactly the bytes of the raw ping-pong floor and does
/// nothing else but protocol work. Reported as payload throughput relative to the raw socket.
/// </summary>
[Config(typeof(RoundTripConfig))]
public class PayloadThroughput
{
    private const int Points = 65536;
    private readonly List<IAsyncDisposable> _owned = [];
    private IModel _pipe = null!;
    private IModel _tcp = null!;
    private DoubleMatrix _x = null!;
    private RawEcho _rawUnix = null!;
    private RawEcho _rawTcp = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _x = Fixture.Points(Points);
        _pipe = await StartAsync($"pipe://{Path.Combine(Path.GetTempPath(), $"maas-payload-{Guid.NewGuid():N}.sock")}");
        _tcp = await StartAsync("tcp://127.0.0.1:0");
        var (request, response) = Fixture.FrameSizes(Points);
        _rawUnix = await RawEcho.StartAsync(unix: true, request, response);
        _rawTcp = await RawEcho.StartAsync(unix: false, request, response);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        await _rawUnix.DisposeAsync();
        await _rawTcp.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw Unix socket ping-pong, 65,536 points")]
    public ValueTask RawUnix() => _rawUnix.RoundTripAsync();

    [Benchmark(Description = "pipe:// copy model, 65,536 points")]
    public async Task Pipe()
    {
        using var y = await _pipe.LogDensityAsync(_x);
    }

    [Benchmark(Description = "raw TCP ping-pong, 65,536 points")]
    public ValueTask RawTcp() => _rawTcp.RoundTripAsync();

    [Benchmark(Description = "tcp:// copy model, 65,536 points")]
    public async Task Tcp()
    {
        using var y = await _tcp.LogDensityAsync(_x);
    }

    private async Task<IModel> StartAsync(string listen)
    {
        var server = new MaasServer(transports: [new PipeTransport(), new TcpTransport()]);
        server.AddModel(ModelBuilder.Create("copy").WithInputDimension(1).WithLogDensity((a, result) => a.X.CopyTo(result)).Build());
        var uri = await server.ListenAsync(listen);
        var options = new MaasClientOptions();
        options.Transports.Add(new PipeTransport());
        options.Transports.Add(new TcpTransport());
        var client = await MaasClient.ConnectAsync(uri, options);
        _owned.Add(client);
        _owned.Add(server);
        return await client.GetModelAsync("copy");
    }
}
