using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Demos.Maas.Models;
using Demos.Maas.Security;
using Demos.Maas.Server;
using Demos.Maas.UmBridge;
using FsCheck;
using FsCheck.Fluent;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>
/// UM-Bridge's /Evaluate: the usual request is read and checked without a document and runs through
/// the pipeline once; every other request takes the general path. Both must answer alike.
/// </summary>
public sealed class UmBridgeEvaluateTests
{
    private static readonly Guid EchoUuid = Guid.Parse("7d1d7f0e-5a5e-4f4b-9a53-1c1f0f3b2a01");

    // Output: the input, 1/x0, log(x1): any double, infinities and NaN among them.
    private static IModel Echo() => ModelBuilder.Create("echo").WithUuid(EchoUuid).WithInputDimension(3)
        .WithEvaluate(5, (args, y) =>
        {
            args.X.CopyTo(y);
            y[3] = 1 / args.X[0];
            y[4] = Math.Log(args.X[1]);
        }).Build();

    private static IModel Wide() => ModelBuilder.Create("wide").WithInputDimension(100)
        .WithEvaluate(100, (args, y) => args.X.CopyTo(y)).Build();

    // One input, an answer too long for the short path's buffer: 200 numbers of 17 digits.
    private static IModel Fan() => ModelBuilder.Create("fan").WithInputDimension(1)
        .WithEvaluate(200, (args, y) =>
        {
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = args.X[0] * (i + 1) / 3;
            }
        }).Build();

    private static string Number(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static string Point(double[] x) => string.Join(", ", x.Select(Number));

    private static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient http, string json, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "Evaluate") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_usual_request_and_one_that_takes_the_general_path_get_the_same_bytes()
    {
        await using var f = await HttpServerFixture.StartAsync(setup: s => s.AddModel(Echo()));
        var finite = Gen.Choose(-400, 400).SelectMany(e => Gen.Choose(-1_000_000, 1_000_000).Select(m => m * Math.Pow(10, e / 10.0) / 7));
        var points = Gen.ArrayOf(Gen.OneOf(finite, Gen.Elements(0.0, -0.0, -1.5, 1e-310, 1.7976931348623157e308, 5e-324, 0.1, 1.0 / 3)), 3);
        var property = Prop.ForAll(points.ToArbitrary(), x =>
        {
            // A config entry that names no parameter of the model is ignored, but only the general path reads it.
            var usual = PostAsync(f.Http, $$$"""{"name": "echo", "input": [[{{{Point(x)}}}]], "config": {}}""").GetAwaiter().GetResult();
            var general = PostAsync(f.Http, $$$"""{"name": "echo", "input": [[{{{Point(x)}}}]], "config": {"unused": 1}}""").GetAwaiter().GetResult();
            return (usual.Status == HttpStatusCode.OK && usual == general).Label($"{usual} against {general}");
        });
        await Task.Run(() => Check.One(Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true), property));
    }

    [Fact]
    public async Task Bodies_of_other_shapes_are_answered_by_the_general_path_as_before()
    {
        await using var f = await HttpServerFixture.StartAsync(setup: s =>
        {
            s.AddModel(Echo());
            s.AddModel(Wide());
        });
        const string expected = """{"output":[[1,2,3,1,0.6931471805599453]]}""";

        // Read by the quick reader: key order, no config, unknown keys with nested values, the model's uuid.
        foreach (string body in new[]
        {
            """{"input": [[1, 2, 3]], "config": {}, "name": "echo"}""",
            """{"name": "echo", "input": [[1, 2, 3]]}""",
            """{"name": "echo", "extra": {"a": [1, {"b": null}]}, "input": [[1, 2, 3]], "more": "x"}""",
            $$"""{"name": "{{EchoUuid}}", "input": [[1.0, 2e0, 0.3e1]]}""",
        })
        {
            Assert.Equal((HttpStatusCode.OK, expected), await PostAsync(f.Http, body));
        }

        // Left to the general path: a config with entries, a wide input.
        Assert.Equal((HttpStatusCode.OK, expected), await PostAsync(f.Http, """{"name": "echo", "input": [[1, 2, 3]], "config": {"a": {}}}"""));
        // A number past the largest double reads as infinity on either path.
        var huge = await PostAsync(f.Http, """{"name": "echo", "input": [[1, 3e999, 3]]}""");
        Assert.Equal((HttpStatusCode.OK, """{"output":[[1,"Infinity",3,1,"Infinity"]]}"""), huge);
        Assert.Equal(huge, await PostAsync(f.Http, """{"name": "echo", "input": [[1, 3e999, 3]], "config": {"a": 1}}"""));
        // An answer longer than the short path formats itself is written by the JSON writer, to the same bytes.
        f.Server.AddModel(Fan());
        var fan = await PostAsync(f.Http, """{"name": "fan", "input": [[1]]}""");
        Assert.Equal(HttpStatusCode.OK, fan.Status);
        Assert.True(fan.Body.Length > 1024, fan.Body);
        Assert.Equal(fan, await PostAsync(f.Http, """{"name": "fan", "input": [[1]], "config": {"a": 1}}"""));
        Assert.Equal(Enumerable.Range(1, 200).Select(i => i / 3.0), JsonDocument.Parse(fan.Body).RootElement.GetProperty("output")[0].EnumerateArray().Select(e => e.GetDouble()));
        var (status, wide) = await PostAsync(f.Http, $$"""{"name": "wide", "input": [[{{string.Join(",", Enumerable.Range(0, 100))}}]]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (double)i), JsonDocument.Parse(wide).RootElement.GetProperty("output")[0].EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public async Task The_remembered_name_matches_only_itself_in_any_spelling()
    {
        await using var f = await HttpServerFixture.StartAsync(setup: s => s.AddModel(Echo()));
        const string echoed = """{"output":[[1,2,3,1,0.6931471805599453]]}""";
        var absent = await PostAsync(f.Http, """{"name": "nope", "input": [[1, 2, 3]]}""");
        Assert.Equal(HttpStatusCode.BadRequest, absent.Status);
        Assert.Contains("ModelNotFound", absent.Body, StringComparison.Ordinal);

        // A client names the same model again and again; the name read last is remembered. Names
        // that differ from it by a prefix, a suffix or case are other names; an escaped spelling is the same name.
        (string Name, string? Answer)[] calls =
        [
            ("echo", echoed), ("echo", echoed), ("ech", null), ("echo2", null), ("Echo", null), ("ech\\u006f", echoed),
            ("gaussian1d", null), ("echo", echoed), ("\\u0065cho", echoed), ("nope", null), ("echo", echoed),
        ];
        foreach (var (name, answer) in calls)
        {
            var (status, body) = await PostAsync(f.Http, $$$"""{"name": "{{{name}}}", "input": [[1, 2, 3]], "config": {}}""");
            if (answer is not null)
            {
                Assert.Equal((HttpStatusCode.OK, answer), (status, body));
            }
            else if (name == "gaussian1d")
            {
                // A served model of another input size: the general path's wrong-size answer.
                Assert.Equal(await PostAsync(f.Http, """{"name": "gaussian1d", "input": [[1, 2, 3]], "config": {"a": 1}}"""), (status, body));
            }
            else
            {
                Assert.Equal(absent with { Body = absent.Body.Replace("nope", name, StringComparison.Ordinal) }, (status, body));
            }
        }
    }

    [Theory]
    [InlineData("""{"name": "echo", "input": [[1, 2, 3]]} trailing""", "InvalidInput")]
    [InlineData("""{"name": "echo", "input": [[1, 2, 3]], "input": [[1, 2, 3]]}""", null)]
    [InlineData("""{"name": "echo", "name": "echo", "input": [[1, 2, 3]]}""", null)]
    [InlineData("""{"name": "echo", "input": [[1, 2]]}""", "InvalidInput")]
    [InlineData("""{"name": "echo", "input": [[1, 2, 3], [4, 5, 6]]}""", "InvalidInput")]
    [InlineData("""{"name": "echo", "input": [1, 2, 3]}""", "InvalidInput")]
    [InlineData("""{"name": "echo", "input": [[1, 2, 3]], "config": []}""", null)]
    [InlineData("""{"name": 7, "input": [[1, 2, 3]]}""", "InvalidInput")]
    [InlineData("""{"name": "nope", "input": [[1, 2, 3]]}""", "ModelNotFound")]
    [InlineData("""[{"name": "echo", "input": [[1, 2, 3]]}]""", "InvalidInput")]
    [InlineData("""{"name": "echo", "input": [[1, 2, 3]]""", "InvalidInput")]
    public async Task A_body_the_quick_reader_refuses_gets_the_general_paths_answer(string body, string? errorType)
    {
        await using var f = await HttpServerFixture.StartAsync(setup: s => s.AddModel(Echo()));
        var (status, text) = await PostAsync(f.Http, body);
        using var answer = JsonDocument.Parse(text);
        if (errorType is null)
        {
            // JSON with a repeated key or an odd config: the general path's document reading decides, and it answers.
            Assert.True(status == HttpStatusCode.OK || answer.RootElement.TryGetProperty("error", out _), text);
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(errorType, answer.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task A_caller_that_may_not_see_the_model_gets_the_absent_models_answer_whatever_its_input()
    {
        var (other, otherKey) = ApiKeys.Create("other-1", ["only-other"]);
        var (compute, computeKey) = ApiKeys.Create("compute-1", ["compute-only"]);
        var (info, infoKey) = ApiKeys.Create("info-1", ["info-only"]);
        var options = new MaasServerOptions
        {
            Security = new MaasSecurityOptions
            {
                Keys = [otherKey, computeKey, infoKey],
                Roles =
                {
                    ["only-other"] = new MaasRole { Operations = ["*"], Models = ["someone-else"] },
                    ["compute-only"] = new MaasRole { Operations = ["compute"] },
                    ["info-only"] = new MaasRole { Operations = ["info"] },
                },
            },
        };
        await using var server = new MaasServer(options, [new HttpTransport(new HttpTransportOptions().AddUmBridgeRoutes())]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("http://127.0.0.1:0");
        using var http = new HttpClient { BaseAddress = uri };

        var absent = await PostAsync(http, """{"name": "nothing-here", "input": [[0.5]], "config": {}}""", other);
        Assert.Equal(HttpStatusCode.BadRequest, absent.Status);
        Assert.Contains("ModelNotFound", absent.Body, StringComparison.Ordinal);
        foreach (string input in new[] { "[[0.5]]", "[[0.5, 1.5]]", "[[\"a\"]]" })
        {
            var hidden = await PostAsync(http, $$$"""{"name": "nothing-here", "input": {{{input}}}, "config": {}}""", other);
            Assert.Equal(absent, hidden);
            var (status, body) = await PostAsync(http, $$$"""{"name": "gaussian1d", "input": {{{input}}}, "config": {}}""", other);
            Assert.Equal(absent.Status, status);
            Assert.Equal(absent.Body.Replace("nothing-here", "gaussian1d", StringComparison.Ordinal), body);
        }

        // Evaluating is a computation: the compute role may, the info role may not.
        var computed = await PostAsync(http, """{"name": "gaussian1d", "input": [[0.5]], "config": {}}""", compute);
        Assert.Equal(HttpStatusCode.OK, computed.Status);
        Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), JsonDocument.Parse(computed.Body).RootElement.GetProperty("output")[0][0].GetDouble(), 12);
        var denied = await PostAsync(http, """{"name": "gaussian1d", "input": [[0.5]], "config": {}}""", info);
        Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
        Assert.Contains("compute", denied.Body, StringComparison.Ordinal);

        // No credentials, or wrong ones: 401, as on the general path.
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(http, """{"name": "gaussian1d", "input": [[0.5]], "config": {}}""")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(http, """{"name": "gaussian1d", "input": [[0.5]], "config": {}}""", compute + "x")).Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_that_arrives_in_pieces_is_read_whole(bool chunked)
    {
        await using var f = await HttpServerFixture.StartAsync(setup: s => s.AddModel(Echo()));
        byte[] body = Encoding.UTF8.GetBytes("""{"name": "echo", "input": [[1, 2, 3]], "config": {}}""");
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, f.Uri.Port);
        string framing = chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {body.Length}";
        byte[][] pieces = chunked
            ? [Encoding.ASCII.GetBytes($"{20:x}\r\n"), body[..20], Encoding.ASCII.GetBytes($"\r\n{body.Length - 20:x}\r\n"), body[20..], "\r\n0\r\n\r\n"u8.ToArray()]
            : [body[..20], body[20..]];
        await socket.SendAsync(Encoding.ASCII.GetBytes($"POST /Evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"));
        foreach (var piece in pieces)
        {
            await socket.SendAsync(piece);
            await Task.Delay(50); // so the server reads what came so far before the rest comes
        }

        var answer = new List<byte>();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(30))) > 0)
        {
            answer.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        string text = Encoding.UTF8.GetString([.. answer]);
        Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
        Assert.EndsWith("""{"output":[[1,2,3,1,0.6931471805599453]]}""", text, StringComparison.Ordinal);
    }
}
