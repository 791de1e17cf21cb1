using System.Globalization;
using System.Text.Json;
using Demos.Maas.Models;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// The exit-code table of the maas tool (docs/user-guide.md) and the error messages that say what
/// to do: one line on stderr, the documented code, no stack trace.
/// </summary>
public sealed class CliExitCodeTests : IAsyncLifetime
{
    private MaasProcess _server = null!;
    private string _tcp = "", _http = "";

    public async Task InitializeAsync()
    {
        _server = MaasProcess.Start("serve", "--listen", "tcp://127.0.0.1:0", "--listen", "http://127.0.0.1:0", "--log-level", "Warning");
        _tcp = "tcp" + await _server.WaitForLineAsync("listening tcp");
        _http = "http" + await _server.WaitForLineAsync("listening http");
        await _server.WaitForLineAsync("serving");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(2, "maas: --count takes a whole number, e.g. 5; 'abc' is not one.", "call", "{tcp}", "gaussian1d", "sample", "--count", "abc")]
    [InlineData(2, "maas: --seed takes a non-negative whole number", "call", "{tcp}", "gaussian1d", "sample", "--count", "1", "--seed", "-1")]
    [InlineData(2, "maas: Required argument missing", "call", "{tcp}")]
    [InlineData(2, "maas: Unrecognized command or argument 'frobnicate'", "frobnicate")]
    [InlineData(11, "maas: InvalidArgument: sample needs --count N", "call", "{tcp}", "gaussian1d", "sample")]
    [InlineData(12, "maas: NotFound: No model 'nope'", "call", "{tcp}", "nope", "info")]
    [InlineData(13, "maas: Unsupported:", "call", "{tcp}", "gaussian1d", "evaluate", "--input", "-")]
    [InlineData(20, "maas: Unavailable: Cannot connect to tcp://127.0.0.1:1/", "info", "tcp://127.0.0.1:1")]
    [InlineData(1, "", "health", "tcp://127.0.0.1:1", "--timeout-seconds", "2")]
    public async Task Each_kind_of_failure_exits_with_its_documented_code(int expected, string message, params string[] args)
    {
        var (code, _, stderr) = await MaasProcess.RunWithInputAsync("[[1]]", [.. args.Select(a => a.Replace("{tcp}", _tcp, StringComparison.Ordinal))]);
        Assert.True(expected == code, $"exit {code}, expected {expected}; stderr:\n{stderr}");
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_stdin_says_what_to_pipe()
    {
        var (code, _, stderr) = await MaasProcess.RunWithInputAsync("", "call", _tcp, "gaussian1d", "logdensity");
        Assert.Equal(11, code);
        Assert.StartsWith("maas: InvalidArgument: stdin was empty: pipe JSON such as [[0.5], [1.0]]", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_csv_header_row_is_skipped_and_a_half_numeric_first_row_is_still_an_error()
    {
        var (code, stdout, stderr) = await MaasProcess.RunWithInputAsync("x1,x2\n0.5,1.0\n", "call", _tcp, "gaussian2d", "logdensity", "--format", "csv");
        Assert.True(code == 0, stderr);
        Assert.Equal(GaussianModel.LogDensityOf([0.5, 1.0], [0, 0], [1, 1]), double.Parse(stdout.Trim(), CultureInfo.InvariantCulture), 12);

        (code, _, stderr) = await MaasProcess.RunWithInputAsync("0.5,x2\n0.5,1.0\n", "call", _tcp, "gaussian2d", "logdensity", "--format", "csv");
        Assert.Equal(11, code);
        Assert.StartsWith("maas: InvalidArgument: CSV line 1, column 2: 'x2' is not a number", stderr.Trim());
    }

    [Fact]
    public async Task A_pipe_uri_without_a_socket_asks_whether_the_server_runs()
    {
        string path = Path.Combine(Path.GetTempPath(), $"maas-missing-{Guid.NewGuid():N}.sock");
        var (code, _, stderr) = await MaasProcess.RunWithInputAsync("[[1]]", "call", $"pipe://{path}", "gaussian1d", "logdensity");
        Assert.Equal(20, code);
        Assert.Equal($"maas: Unavailable: No socket at {path}: is the server running? (start one with: maas serve --listen pipe://{path})", stderr.Trim());
    }

    [Fact]
    public async Task A_tcp_uri_at_an_http_port_says_to_use_http_and_the_other_way_round()
    {
        string port = new Uri(_http).Port.ToString(CultureInfo.InvariantCulture);
        var (code, _, stderr) = await MaasProcess.RunAsync("info", $"tcp://127.0.0.1:{port}");
        Assert.Equal(21, code);
        Assert.Contains("this is an HTTP server", stderr);
        Assert.Contains("use an http:// URI", stderr);

        // The other way round: http:// at the tcp:// port.
        string tcpPort = new Uri(_tcp).Port.ToString(CultureInfo.InvariantCulture);
        (code, _, stderr) = await MaasProcess.RunAsync("info", $"http://127.0.0.1:{tcpPort}");
        Assert.Equal(21, code);
        Assert.Contains($"does not answer in HTTP: if it is a maas server listening on tcp://, use tcp://127.0.0.1:{tcpPort} instead", stderr);

        // And the right schemes work.
        (code, var stdout, stderr) = await MaasProcess.RunAsync("info", _http, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(ExampleModels.Names.Count, JsonDocument.Parse(stdout).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Maas_call_speaks_to_a_UM_Bridge_server_through_umbridge_http()
    {
        // The tool's own http:// listener serves UM-Bridge's routes too; umbridge+http:// is a UM-Bridge client.
        string port = new Uri(_http).Port.ToString(CultureInfo.InvariantCulture);
        var (code, stdout, stderr) = await MaasProcess.RunWithInputAsync("""{"x": [[100.0, 0.3]]}""", "call", $"umbridge+http://127.0.0.1:{port}/decay", "decay", "evaluate");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(DecayModel.Activity(100, 0.3, 5, 0), json.RootElement.GetProperty("y")[0][0].GetDouble(), 9);

        (code, _, stderr) = await MaasProcess.RunAsync("info", $"umbridge+http://127.0.0.1:{port}/no-such-model");
        Assert.Equal(12, code);
        Assert.Contains("NotFound", stderr, StringComparison.Ordinal);
    }
}
