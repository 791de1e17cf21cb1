using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Demos.Maas.Models;
using Demos.Maas.Protocol;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>The /v1 routes driven by a plain HttpClient: JSON and MessagePack, errors, limits, probes, metrics.</summary>
public sealed class RestRouteTests
{
    private static double[] Row(JsonElement matrix, int row) => [.. matrix[row].EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!.Replace("Infinity", "∞", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) : e.GetDouble())];

    [Fact]
    public async Task Every_capability_in_JSON()
    {
        await using var f = await HttpServerFixture.StartAsync();

        var (status, list) = await f.JsonAsync(HttpMethod.Get, "/v1/models");
        Assert.Equal(200, status);
        Assert.Equal(["blocking", "decay", "faulty", "gaussian1d", "gaussian2d"], list.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()!).Order().ToArray());

        (status, var info) = await f.JsonAsync(HttpMethod.Get, "/v1/models/gaussian2d");
        Assert.Equal(200, status);
        Assert.Equal(2, info.GetProperty("info").GetProperty("input_dim").GetInt32());
        Assert.Contains("log_density", info.GetProperty("info").GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));

        (status, var ld) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian2d/logdensity", """{"x": [[0.5, -1], [2, 3]]}""");
        Assert.Equal(200, status);
        using var x = DoubleMatrix.FromRows([0.5, -1], [2, 3]);
        using var expected = await GaussianModel.Create(2).LogDensityAsync(x);
        Assert.Equal(expected[0, 0], Row(ld.GetProperty("y"), 0)[0], 12);
        Assert.Equal(expected[1, 0], Row(ld.GetProperty("y"), 1)[0], 12);

        (status, var ev) = await f.JsonAsync(HttpMethod.Post, "/v1/models/decay/evaluate", """{"x": [[100, 0.3]], "theta": [2.5]}""");
        Assert.Equal(200, status);
        Assert.Equal(DecayModel.Activity(100, 0.3, 2.5, 3), Row(ev.GetProperty("y"), 0)[3], 9);

        (status, var vjp) = await f.JsonAsync(HttpMethod.Post, "/v1/models/decay/gradient", """{"kind": "vjp", "x": [[100, 0.3]], "v": [[1,0,0,0,0,0,0,0]]}""");
        Assert.Equal(200, status);
        Assert.Equal(2, vjp.GetProperty("y")[0].GetArrayLength());
        (status, var gx) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/gradient", """{"kind": "x", "x": [[1.5]]}""");
        Assert.Equal(200, status);
        Assert.Equal(-1.5, Row(gx.GetProperty("y"), 0)[0], 12);

        (status, var parameters) = await f.JsonAsync(HttpMethod.Get, "/v1/models/gaussian1d/parameters");
        Assert.Equal(200, status);
        long version = parameters.GetProperty("version").GetInt64();
        (status, var updated) = await f.JsonAsync(HttpMethod.Put, "/v1/models/gaussian1d/parameters", """{"values": {"mu": [1.5]}}""");
        Assert.Equal(200, status);
        Assert.True(updated.GetProperty("version").GetInt64() > version);
        Assert.Equal(1.5, updated.GetProperty("values").GetProperty("mu")[0].GetDouble());

        (status, var datasets) = await f.JsonAsync(HttpMethod.Get, "/v1/models/gaussian1d/data");
        Assert.Equal(200, status);
        Assert.Equal("draws", datasets.GetProperty("datasets")[0].GetProperty("name").GetString());

        // Streams: NDJSON lines, then an end line.
        var lines = await NdJsonAsync(f, HttpMethod.Get, "/v1/models/gaussian1d/data/draws?offset=10&n=25&chunk=10", null);
        Assert.Equal([10, 10, 5], lines.Take(3).Select(l => l.GetProperty("y").GetArrayLength()).ToArray());
        Assert.Equal(25, lines[3].GetProperty("end").GetProperty("rows").GetInt64());
        var draws = await NdJsonAsync(f, HttpMethod.Post, "/v1/models/gaussian2d/sample", """{"n": 100, "seed": 7, "chunk": 40}""");
        Assert.Equal(100, draws.SkipLast(1).Sum(l => l.GetProperty("y").GetArrayLength()));
        Assert.Equal(7ul, draws[^1].GetProperty("end").GetProperty("seed").GetUInt64());
        using var local = await GaussianModel.Create(2).SampleMatrixAsync(100, seed: 7);
        Assert.Equal(local[0, 1], Row(draws[0].GetProperty("y"), 0)[1]);
    }

    private static async Task<List<JsonElement>> NdJsonAsync(HttpServerFixture f, HttpMethod method, string path, string? json)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await f.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    [Fact]
    public async Task Every_capability_in_MessagePack_with_protocol_messages_as_bodies()
    {
        await using var f = await HttpServerFixture.StartAsync();
        using var x = DoubleMatrix.FromRows([100, 0.3], [50, 0.01]);
        var response = await MsgPackAsync(f, HttpMethod.Post, "/v1/models/decay/evaluate", new MaasRequest { Id = 42, X = x });
        var result = Assert.IsType<MaasResponse>(Assert.Single(response.Messages));
        Assert.Equal(42u, result.Id);
        using var expected = await DecayModel.Create().EvaluateAsync(x);
        Assert.Equal(expected.ToArray(), result.Y!.ToArray());

        var info = await MsgPackAsync(f, HttpMethod.Get, "/v1/models/gaussian2d", null);
        Assert.Equal("gaussian2d", Assert.IsType<MaasResponse>(Assert.Single(info.Messages)).Info!.Name);
        var models = await MsgPackAsync(f, HttpMethod.Get, "/v1/models", null);
        Assert.Equal(5, Assert.IsType<MaasResponse>(Assert.Single(models.Messages)).Models!.Count);
        var data = await MsgPackAsync(f, HttpMethod.Get, "/v1/models/gaussian1d/data", null);
        Assert.Equal("draws", Assert.IsType<MaasResponse>(Assert.Single(data.Messages)).Datasets![0].Name);
        var parameters = await MsgPackAsync(f, HttpMethod.Put, "/v1/models/gaussian2d/parameters", new MaasRequest { Id = 3, Update = ParameterUpdate.Of("mu", 1, 2) });
        Assert.Equal([1.0, 2.0], Assert.IsType<MaasResponse>(Assert.Single(parameters.Messages)).Parameters!["mu"]);
        using var one = DoubleMatrix.FromPoint(1.0);
        var grad = await MsgPackAsync(f, HttpMethod.Post, "/v1/models/gaussian1d/gradient", new MaasRequest { Id = 4, Operation = Operation.Gradient, X = one, GradientKind = GradientKind.LogDensityWrtX });
        Assert.Equal(-1.0, (grad.Messages[0] as MaasResponse)?.Y![0, 0] ?? throw new InvalidOperationException((grad.Messages[0] as ErrorMessage)?.Message), 12);
        var logDensity = await MsgPackAsync(f, HttpMethod.Post, "/v1/models/gaussian1d/logdensity", new MaasRequest { Id = 5, X = one });
        Assert.Equal(GaussianModel.LogDensityOf([1.0], [0.0], [1.0]), Assert.IsType<MaasResponse>(Assert.Single(logDensity.Messages)).Y![0, 0], 12);

        // A stream body is a sequence of frames: chunks, then the end.
        var sample = await MsgPackAsync(f, HttpMethod.Post, "/v1/models/gaussian2d/sample", new MaasRequest { Id = 9, Count = 100, Seed = 7, ChunkRows = 30 });
        Assert.Equal(5, sample.Messages.Count);
        Assert.All(sample.Messages.Take(4), m => Assert.Equal(9u, Assert.IsType<StreamChunkMessage>(m).Id));
        Assert.Equal(100, Assert.IsType<StreamEndMessage>(sample.Messages[^1]).TotalRows);
        var slice = await MsgPackAsync(f, HttpMethod.Post, "/v1/models/gaussian1d/data/draws", new MaasRequest { Id = 10, Offset = 5, Count = 7 });
        Assert.Equal(7, Assert.IsType<StreamChunkMessage>(slice.Messages[0]).Rows.Rows);
    }

    [Fact]
    public async Task Answers_carry_their_length_and_only_large_ones_are_chunked()
    {
        await using var f = await HttpServerFixture.StartAsync();

        // A small answer is collected whole and sent with its length, in both content types and for errors.
        foreach (var (accept, body, type) in new[]
        {
            ("application/msgpack", MessageCodec.Encode(new MaasRequest { Id = 5, X = DoubleMatrix.FromPoint(1.0) }), "application/msgpack"),
            ("application/json", Encoding.UTF8.GetBytes("""{"x": [[1.0]]}"""), "application/json"),
        })
        {
            foreach (var (path, expectedStatus) in new[] { ("/v1/models/gaussian1d/logdensity", HttpStatusCode.OK), ("/v1/models/nosuch/logdensity", HttpStatusCode.NotFound) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(type);
                using var response = await f.Http.SendAsync(request);
                Assert.Equal(expectedStatus, response.StatusCode);
                Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
                byte[] bytes = await response.Content.ReadAsByteArrayAsync();
                Assert.True(bytes.Length > 0);
                Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
            }
        }

        // A large answer streams (chunked) instead of being collected, and arrives whole.
        const int points = 20_000; // 160 KB of doubles, more than the 64 KiB that are collected
        using var x = DoubleMatrix.FromColumn([.. Enumerable.Range(0, points).Select(i => i * 1e-3)]);

        using var expected = await GaussianModel.Create(1).LogDensityAsync(x);
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/gaussian1d/logdensity") { Content = new ByteArrayContent(MessageCodec.Encode(new MaasRequest { Id = 6, X = x })) })
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/msgpack"));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/msgpack");
            using var response = await f.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.TransferEncodingChunked);
            var answer = Assert.IsType<MaasResponse>(MessageCodec.Read(await response.Content.ReadAsByteArrayAsync()));
            Assert.Equal(expected.ToArray(), answer.Y!.ToArray());
        }

        string json = "{\"x\": [" + string.Join(",", Enumerable.Range(0, points).Select(i => FormattableString.Invariant($"[{i * 1e-3}]"))) + "]}";
        var (status, ld) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", json);
        Assert.Equal(200, status);
        Assert.Equal(points, ld.GetProperty("y").GetArrayLength());
        Assert.Equal(expected[points - 1, 0], Row(ld.GetProperty("y"), points - 1)[0], 12);
    }

    [Fact]
    public async Task A_request_starts_no_ASP_NET_Core_activity_unless_someone_listens_to_it()
    {
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string[]>();
        await using var f = await HttpServerFixture.StartAsync(setup: s => s.AddModel(ModelBuilder.Create("spans")
            .WithInputDimension(1)
            .WithLogDensity((a, result) =>
            {
                var names = new List<string>();
                for (var activity = System.Diagnostics.Activity.Current; activity is not null; activity = activity.Parent)
                {
                    names.Add(activity.OperationName);
                }

                seen.Enqueue([.. names]);
                result[0] = 0;
            })
            .Build()));

        var (status, _) = await f.JsonAsync(HttpMethod.Post, "/v1/models/spans/logdensity", """{"x": [[1.0]]}""");
        Assert.Equal(200, status);

        // With a listener on ASP.NET Core's source the request's activity is there, as usual.
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        (status, _) = await f.JsonAsync(HttpMethod.Post, "/v1/models/spans/logdensity", """{"x": [[1.0]]}""");
        Assert.Equal(200, status);

        var calls = seen.ToArray();
        Assert.Equal(2, calls.Length);
        Assert.DoesNotContain("Microsoft.AspNetCore.Hosting.HttpRequestIn", calls[0]);
        Assert.Contains("Microsoft.AspNetCore.Hosting.HttpRequestIn", calls[1]);
    }

    private static async Task<(int Status, List<MaasMessage> Messages)> MsgPackAsync(HttpServerFixture f, HttpMethod method, string path, MaasRequest? body)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/msgpack"));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(MessageCodec.Encode(body));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/msgpack");
        }

        using var response = await f.Http.SendAsync(request);
        Assert.Equal("application/msgpack", response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var messages = new List<MaasMessage>();
        bool stream = path.EndsWith("/sample", StringComparison.Ordinal) || path.Contains("/data/", StringComparison.Ordinal);
        if (stream && response.IsSuccessStatusCode)
        {
            int at = 0;
            while (at < bytes.Length)
            {
                int length = BitConverter.ToInt32(bytes, at);
                messages.Add(MessageCodec.Read(bytes.AsMemory(at + 4, length)));
                at += 4 + length;
            }
        }
        else
        {
            messages.Add(MessageCodec.Read(bytes));
        }

        return ((int)response.StatusCode, messages);
    }

    [Fact]
    public async Task Non_finite_numbers_travel_as_strings_in_JSON()
    {
        await using var f = await HttpServerFixture.StartAsync(setup: s => s.AddModel(ModelBuilder.Create("identity").WithInputDimension(2).WithEvaluate(2, (args, y) => args.X.CopyTo(y)).Build()));
        var (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/identity/evaluate", """{"x": [["NaN", "Infinity"], ["-Infinity", 1.5]]}""");
        Assert.Equal(200, status);
        var y = body.GetProperty("y");
        Assert.Equal("NaN", y[0][0].GetString());
        Assert.Equal("Infinity", y[0][1].GetString());
        Assert.Equal("-Infinity", y[1][0].GetString());
        Assert.Equal(1.5, y[1][1].GetDouble());
        (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/identity/evaluate", """{"x": [["nan", 1]]}""");
        Assert.Equal(400, status);
        Assert.Contains("\"NaN\"", body.GetProperty("error").GetProperty("message").GetString());
    }

    public static TheoryData<MaasErrorCode, int> Codes() => new()
    {
        { MaasErrorCode.InvalidArgument, 400 },
        { MaasErrorCode.NotFound, 404 },
        { MaasErrorCode.Unsupported, 501 },
        { MaasErrorCode.ModelError, 422 },
        { MaasErrorCode.DeadlineExceeded, 504 },
        { MaasErrorCode.Cancelled, 499 },
        { MaasErrorCode.Unauthenticated, 401 },
        { MaasErrorCode.PermissionDenied, 403 },
        { MaasErrorCode.ResourceExhausted, 429 },
        { MaasErrorCode.Unavailable, 503 },
        { MaasErrorCode.ProtocolError, 400 },
        { MaasErrorCode.VersionMismatch, 505 },
        { MaasErrorCode.Internal, 500 },
    };

    [Theory]
    [MemberData(nameof(Codes))]
    public async Task Every_error_code_maps_to_its_status_in_both_content_types(MaasErrorCode code, int status)
    {
        // A middleware fails calls on the model "fail" with the code in the request's theta.
        await using var f = await HttpServerFixture.StartAsync(setup: s => s.Use(next => ctx =>
            ctx.Request.Model == "fail" ? throw new MaasException((MaasErrorCode)(int)ctx.Request.Theta.Span[0], $"failed with {(MaasErrorCode)(int)ctx.Request.Theta.Span[0]}") : next(ctx)));
        var (jsonStatus, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/fail/evaluate", $$"""{"x": [[1]], "theta": [{{(int)code}}]}""");
        Assert.Equal(status, jsonStatus);
        Assert.Equal((int)code, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(code.ToString(), body.GetProperty("error").GetProperty("name").GetString());
        Assert.Contains(code.ToString(), body.GetProperty("error").GetProperty("message").GetString());

        using var one = DoubleMatrix.FromPoint(1);
        var (mpStatus, messages) = await MsgPackAsync(f, HttpMethod.Post, "/v1/models/fail/evaluate", new MaasRequest { Id = 7, X = one, Theta = new double[] { (int)code } });
        Assert.Equal(status, mpStatus);
        var error = Assert.IsType<ErrorMessage>(Assert.Single(messages));
        Assert.Equal(code, error.Code);
        Assert.Equal(7u, error.Id);
    }

    [Fact]
    public async Task Real_failures_get_their_statuses()
    {
        await using var f = await HttpServerFixture.StartAsync();
        Assert.Equal(404, (await f.JsonAsync(HttpMethod.Get, "/v1/models/nope")).Status);
        Assert.Equal(404, (await f.JsonAsync(HttpMethod.Post, "/v1/models/nope/evaluate", """{"x": [[1]]}""")).Status);
        Assert.Equal(501, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/evaluate", """{"x": [[1]]}""")).Status);
        Assert.Equal(400, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1, 2]]}""")).Status);
        Assert.Equal(400, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1, 2], [3]]}""")).Status);
        Assert.Equal(422, (await f.JsonAsync(HttpMethod.Post, "/v1/models/faulty/logdensity", """{"x": [[-1]]}""")).Status);
        Assert.Equal(404, (await f.JsonAsync(HttpMethod.Get, "/v1/models/gaussian1d/data/nope")).Status);
        var (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/blocking/logdensity", """{"x": [[1]]}""", r => r.Headers.Add("Maas-Timeout-Ms", "50"));
        Assert.Equal(504, status);
        Assert.Equal("DeadlineExceeded", body.GetProperty("error").GetProperty("name").GetString());
        Assert.Equal(400, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]]}""", r => r.Headers.Add("Maas-Timeout-Ms", "soon"))).Status);
        Assert.Equal(415, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]]}""", r => r.Content!.Headers.ContentType = new MediaTypeHeaderValue("text/csv"))).Status);

        // A browser's cross-site "simple request" (text/plain) is not read as JSON: no page can change a local server's parameters.
        Assert.Equal(415, (await f.JsonAsync(HttpMethod.Put, "/v1/models/gaussian1d/parameters", """{"values": {"mu": [5]}}""", r => r.Content!.Headers.ContentType = new MediaTypeHeaderValue("text/plain"))).Status);
        Assert.Equal(0.0, (await f.JsonAsync(HttpMethod.Get, "/v1/models/gaussian1d/parameters")).Body.GetProperty("values").GetProperty("mu")[0].GetDouble());

        // DNS rebinding: a Host that is not this server's name is refused before any route runs.
        Assert.Equal(400, (await f.JsonAsync(HttpMethod.Get, "/v1/models", null, r => r.Headers.Host = "attacker.example")).Status);
    }

    [Fact]
    public async Task Malformed_JSON_and_MessagePack_give_400_with_a_clear_message()
    {
        await using var f = await HttpServerFixture.StartAsync();
        var (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]""");
        Assert.Equal(400, status);
        Assert.StartsWith("Malformed JSON body", body.GetProperty("error").GetProperty("message").GetString());
        (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """[1, 2]""");
        Assert.Equal(400, status);
        Assert.Contains("must be an object", body.GetProperty("error").GetProperty("message").GetString());
        (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": "one"}""");
        Assert.Equal(400, status);
        Assert.Contains("'x'", body.GetProperty("error").GetProperty("message").GetString());

        foreach (var garbage in new[] { new byte[] { 0xC1, 0xC1 }, [0x93, 0x03], MessageCodec.Encode(new CancelMessage { Id = 1 }) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/gaussian1d/logdensity") { Content = new ByteArrayContent(garbage) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/msgpack");
            using var response = await f.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = Assert.IsType<ErrorMessage>(MessageCodec.Read(await response.Content.ReadAsByteArrayAsync()));
            Assert.Equal(MaasErrorCode.ProtocolError, error.Code);
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
        }

        // The server is fine afterwards.
        Assert.Equal(200, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]]}""")).Status);
    }

    [Fact]
    public async Task A_body_over_the_limit_gives_413_and_the_server_keeps_serving()
    {
        await using var f = await HttpServerFixture.StartAsync(o => o.MaxFrameBytes = 64 * 1024);
        var big = "{\"x\": [" + string.Join(",", Enumerable.Repeat("[0.125]", 20_000)) + "]}";
        var (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", big);
        Assert.Equal(413, status);
        Assert.Equal("ResourceExhausted", body.GetProperty("error").GetProperty("name").GetString());
        Assert.Contains("limit", body.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(200, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]]}""")).Status);
    }

    [Fact]
    public async Task A_100_MB_body_over_the_default_limit_is_refused_with_413_without_being_held_in_memory()
    {
        await using var f = await HttpServerFixture.StartAsync();
        long size = FrameCodecLimit + (100L << 20);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/gaussian1d/logdensity") { Content = new ZeroContent(size) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/msgpack");
        request.Headers.ExpectContinue = true; // The server answers before the body is sent.
        using var response = await f.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = Assert.IsType<ErrorMessage>(MessageCodec.Read(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal(MaasErrorCode.ResourceExhausted, error.Code);
        Assert.Equal(200, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]]}""")).Status);
    }

    private const long FrameCodecLimit = FrameCodec.DefaultMaxFrameBytes;

    /// <summary>A body of zeros generated as it is sent.</summary>
    private sealed class ZeroContent(long length) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var block = new byte[1 << 16];
            for (long sent = 0; sent < length; sent += block.Length)
            {
                await stream.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, length - sent)));
            }
        }

        protected override bool TryComputeLength(out long length1)
        {
            length1 = length;
            return true;
        }
    }

    [Fact]
    public async Task Probes_follow_draining_and_metrics_are_Prometheus_text()
    {
        var f = await HttpServerFixture.StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(2));
        try
        {
            Assert.Equal("live\n", await f.Http.GetStringAsync("/health/live"));
            Assert.Equal("ready\n", await f.Http.GetStringAsync("/health/ready"));
            Assert.Equal(200, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]]}""")).Status);
            Assert.Equal(422, (await f.JsonAsync(HttpMethod.Post, "/v1/models/faulty/logdensity", """{"x": [[-1]]}""")).Status);
            var metrics = await f.Http.GetStringAsync("/metrics");
            Assert.Contains("# TYPE maas_calls_total counter", metrics);
            Assert.Contains("# TYPE maas_call_duration_seconds histogram", metrics);
            Assert.Contains("maas_call_duration_seconds_bucket{", metrics);
            Assert.Contains("le=\"+Inf\"", metrics);
            Assert.Contains("maas_errors_total{", metrics);

            // A call that blocks keeps the server draining; meanwhile ready is 503 and new calls get 503; after the drain timeout it ends with 503.
            var blocked = f.JsonAsync(HttpMethod.Post, "/v1/models/blocking/logdensity", """{"x": [[1]]}""");
            await f.Blocking.Entered.WaitAsync(TimeSpan.FromSeconds(30));
            var stopping = f.Server.StopAsync(CancellationToken.None);
            using var probe = await f.Http.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, probe.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await f.Http.GetAsync("/health/live")).StatusCode);
            var (status, body) = await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[1]]}""");
            Assert.Equal(503, status);
            Assert.Equal("Unavailable", body.GetProperty("error").GetProperty("name").GetString());
            var (blockedStatus, blockedBody) = await blocked;
            Assert.Equal(503, blockedStatus);
            Assert.Contains("shut down", blockedBody.GetProperty("error").GetProperty("message").GetString());
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await f.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_stream_that_fails_after_it_started_ends_with_an_error_line_or_frame()
    {
        await using var f = await HttpServerFixture.StartAsync();

        // The blocking model streams one row per chunk until cancelled; the deadline ends it.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/blocking/sample") { Content = new StringContent("""{"n": 1000000, "seed": 1}""", Encoding.UTF8, "application/json") };
        request.Headers.Add("Maas-Timeout-Ms", "1000");
        using var response = await f.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 2, string.Join("\n", lines));
        Assert.StartsWith("{\"seq\":0,", lines[0]);
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.Equal("DeadlineExceeded", last.RootElement.GetProperty("error").GetProperty("name").GetString());

        var (status, messages) = await MsgPackAsync(f, HttpMethod.Post, "/v1/models/blocking/sample", new MaasRequest { Id = 3, Count = 1_000_000, TimeoutMicros = 1_000_000 });
        Assert.Equal(200, status);
        Assert.IsType<StreamChunkMessage>(messages[0]);
        var error = Assert.IsType<ErrorMessage>(messages[^1]);
        Assert.Equal(MaasErrorCode.DeadlineExceeded, error.Code);
        Assert.Equal(3u, error.Id);
    }

    [Fact]
    public async Task A_REST_client_that_goes_away_cancels_the_model_call()
    {
        await using var f = await HttpServerFixture.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/blocking/sample") { Content = new StringContent("""{"n": 1000000}""", Encoding.UTF8, "application/json") };
        // No draining: a default HttpClient would first read up to 1 MB of the endless stream to keep the connection.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = f.Uri };
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("{\"seq\":0,", await reader.ReadLineAsync());
        }

        // The response was disposed mid-stream: the connection closes, Kestrel aborts the request, the model sees its token fire.
        await f.Blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));

        using var unary = new HttpClient { BaseAddress = f.Uri };
        using var cts = new CancellationTokenSource();
        var call = unary.PostAsync("/v1/models/blocking/logdensity", new StringContent("""{"x": [[1]]}""", Encoding.UTF8, "application/json"), cts.Token);
        await Task.Delay(100);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Fact]
    public async Task Kestrel_serves_on_a_Unix_socket()
    {
        var path = Path.Combine(Path.GetTempPath(), $"maas-rest-{Guid.NewGuid():N}.sock");
        await using var f = await HttpServerFixture.StartAsync(listen: $"http+unix://{path}");
        Assert.Equal(HttpTransport.UnixScheme, f.Uri.Scheme);
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/") };
        Assert.Equal("ready\n", await http.GetStringAsync("/health/ready"));
        using var response = await http.PostAsync("/v1/models/gaussian1d/logdensity", new StringContent("""{"x": [[0]]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("-0.9189385332046", await response.Content.ReadAsStringAsync());
    }
}
