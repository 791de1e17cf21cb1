using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Transports.Http;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// One Evaluate call of the same model over: the TCP binary transport (MaasClient), HTTP with
/// MessagePack bodies (MaasClient over http://), HTTP with JSON (/v1 route, HttpClient) and the
/// UM-Bridge /Evaluate route (HttpClient), all on loopback. The model doubles a vector of
/// <see cref="Values"/> values; a call carries one point of that many values, because a UM-Bridge
/// call carries one point. The JSON variants parse the answer, as a client must.
/// </summary>
[Config(typeof(RoundTripConfig))]
public class HttpRoundTrip
{
    private MaasServer _server = null!;
    private MaasClient _tcpClient = null!;
    private MaasClient _httpClient = null!;
    private IModel _tcpModel = null!;
    private IModel _httpModel = null!;
    private HttpClient _http = null!;
    private DoubleMatrix _x = null!;
    private byte[] _jsonBody = null!;
    private byte[] _umBridgeBody = null!;
    private readonly MediaTypeHeaderValue _json = new("application/json");

    [Params(1, 4096)]
    public int Values { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var http = new HttpTransport();
        _server = new MaasServer(transports: [new TcpTransport(), http]);
        _server.AddModel(ModelBuilder.Create("double").WithInputDimension(Values).WithEvaluate(Values, (args, y) =>
        {
            for (int i = 0; i < args.X.Length; i++)
            {
                y[i] = 2 * args.X[i];
            }
        }).Build());
        var tcpUri = await _server.ListenAsync("tcp://127.0.0.1:0");
        var httpUri = await _server.ListenAsync("http://127.0.0.1:0");
        var options = new MaasClientOptions();
        options.Transports.Add(new TcpTransport());
        options.Transports.Add(http);
        _tcpClient = await MaasClient.ConnectAsync(tcpUri, options);
        _httpClient = await MaasClient.ConnectAsync(httpUri, options);
        _tcpModel = await _tcpClient.GetModelAsync("double");
        _httpModel = await _httpClient.GetModelAsync("double");
        _http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = httpUri };
        _x = DoubleMatrix.Rent(1, Values);
        for (int i = 0; i < Values; i++)
        {
            _x[0, i] = (i % 1000) / 250.0;
        }

        var row = string.Join(",", _x.ToArray().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        _jsonBody = Encoding.UTF8.GetBytes($"{{\"x\": [[{row}]]}}");
        _umBridgeBody = Encoding.UTF8.GetBytes($"{{\"name\": \"double\", \"input\": [[{row}]], \"config\": {{}}}}");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _http.Dispose();
        await _tcpClient.DisposeAsync();
        await _httpClient.DisposeAsync();
        await _server.DisposeAsync();
        _x.Dispose();
    }

    [Benchmark(Baseline = true, Description = "tcp:// binary (MaasClient)")]
    public async Task TcpBinary()
    {
        using var y = await _tcpModel.EvaluateAsync(_x);
    }

    [Benchmark(Description = "http:// MessagePack (MaasClient)")]
    public async Task HttpMsgPack()
    {
        using var y = await _httpModel.EvaluateAsync(_x);
    }

    [Benchmark(Description = "HTTP JSON POST /v1/models/double/evaluate")]
    public async Task<int> HttpJson() => await PostAsync("v1/models/double/evaluate", _jsonBody, "y");

    [Benchmark(Description = "UM-Bridge POST /Evaluate")]
    public async Task<int> UmBridgeEvaluate() => await PostAsync("Evaluate", _umBridgeBody, "output");

    private async Task<int> PostAsync(string path, byte[] body, string key)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = _json;
        using var response = await _http.PostAsync(path, content);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        using var document = await JsonDocument.ParseAsync(stream);
        return document.RootElement.GetProperty(key)[0].GetArrayLength();
    }
}
