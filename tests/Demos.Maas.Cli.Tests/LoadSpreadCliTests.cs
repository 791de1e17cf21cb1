using Demos.Maas.Models;

namespace Demos.Maas.Cli.Tests;

/// <summary><c>maas call</c> and <c>maas bench</c> with <c>maas+lb://</c> addresses: calls spread over the live servers, bad addresses refused.</summary>
public sealed class LoadSpreadCliTests : IAsyncLifetime
{
    private MaasProcess _server = null!;
    private string _tcp = "";

    public async Task InitializeAsync()
    {
        _server = MaasProcess.Start("serve", "--listen", "tcp://127.0.0.1:0", "--model", "gaussian1d", "--log-level", "Warning");
        _tcp = "tcp" + await _server.WaitForLineAsync("listening tcp");
        await _server.WaitForLineAsync("serving");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Call_and_bench_reach_the_live_server_of_a_maas_lb_address_with_a_dead_one()
    {
        string address = $"maas+lb:///gaussian1d?e=tcp://127.0.0.1:1&e={_tcp}";
        var (code, stdout, stderr) = await MaasProcess.RunWithInputAsync("[[0.5]]", "call", address, "gaussian1d", "logdensity");
        Assert.True(code == 0, stderr);
        Assert.Contains(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]).ToString("R", System.Globalization.CultureInfo.InvariantCulture), stdout, StringComparison.Ordinal);

        (code, stdout, stderr) = await MaasProcess.RunAsync("bench", address, "gaussian1d", "--batch", "1", "--concurrency", "2", "--requests", "50", "--warmup", "5", "--warmup-seconds", "0");
        Assert.True(code == 0, stderr);
        Assert.Contains("gaussian1d LogDensity at 2 endpoints", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(11, "maas: InvalidArgument: 'maas+lb:///g?e=127.0.0.1:1': endpoint '127.0.0.1:1' is not an absolute URI", "maas+lb:///g?e=127.0.0.1:1")]
    [InlineData(11, "maas: InvalidArgument: 'maas+lb:///g' names no endpoint: add e=URI", "maas+lb:///g")]
    [InlineData(11, "unknown setting 'weight'", "maas+lb:///g?e=tcp://127.0.0.1:1&weight=2")]
    [InlineData(20, "maas: Unavailable:", "maas+lb:///g?e=tcp://127.0.0.1:1")]
    public async Task Bad_or_dead_maas_lb_addresses_exit_with_their_code(int expected, string message, string address)
    {
        var (code, _, stderr) = await MaasProcess.RunAsync("call", address, "gaussian1d", "info");
        Assert.True(expected == code, $"exit {code}, expected {expected}; stderr:\n{stderr}");
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }
}
