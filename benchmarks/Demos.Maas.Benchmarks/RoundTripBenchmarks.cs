using BenchmarkDotNet.Attributes;
using Demos.Maas.Models;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// One LogDensity round trip of the 1-D Gaussian over a Unix socket, against the raw Unix-socket
/// ping-pong of the same bytes (baseline), the in-process transport and a direct call.
/// </summary>
[Config(typeof(RoundTripConfig))]
public class UnixSocketRoundTrip
{
    private Fixture _pipe = null!;
    private Fixture _inproc = null!;
    private RawEcho _raw = null!;
    private IModel _direct = null!;

    [Params(1, 4096, 65536)]
    public int Points { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _pipe = await Fixture.StartAsync($"pipe://{Path.Combine(Path.GetTempPath(), $"maas-bench-{Guid.NewGuid():N}.sock")}", Points);
        _inproc = await Fixture.StartAsync($"inproc://bench-{Guid.NewGuid():N}", Points);
        var (request, response) = Fixture.FrameSizes(Points);
        _raw = await RawEcho.StartAsync(unix: true, request, response);
        _direct = GaussianModel.Create(1);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _pipe.DisposeAsync();
        await _inproc.DisposeAsync();
        await _raw.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw Unix socket ping-pong (floor)")]
    public ValueTask RawUnixSocket() => _raw.RoundTripAsync();

    [Benchmark(Description = "pipe:// MaaS call")]
    public async Task Pipe()
    {
        using var y = await _pipe.Model.LogDensityAsync(_pipe.X);
    }

    [Benchmark(Description = "inproc:// MaaS call")]
    public async Task InProcess()
    {
        using var y = await _inproc.Model.LogDensityAsync(_inproc.X);
    }

    [Benchmark(Description = "direct IModel call")]
    public async Task Direct()
    {
        using var y = await _direct.LogDensityAsync(_pipe.X);
    }
}

/// <summary>One LogDensity round trip over TCP loopback against the raw TCP ping-pong of the same bytes.</summary>
[Config(typeof(RoundTripConfig))]
public class TcpRoundTrip
{
    private Fixture _tcp = null!;
    private RawEcho _raw = null!;

    [Params(1, 4096, 65536)]
    public int Points { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _tcp = await Fixture.StartAsync("tcp://127.0.0.1:0", Points);
        var (request, response) = Fixture.FrameSizes(Points);
        _raw = await RawEcho.StartAsync(unix: false, request, response);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _tcp.DisposeAsync();
        await _raw.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw TCP ping-pong (floor)")]
    public ValueTask RawTcp() => _raw.RoundTripAsync();

    [Benchmark(Description = "tcp:// MaaS call")]
    public async Task Tcp()
    {
        using var y = await _tcp.Model.LogDensityAsync(_tcp.X);
    }
}
