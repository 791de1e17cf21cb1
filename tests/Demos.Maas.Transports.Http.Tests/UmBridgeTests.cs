using Demos.Maas.UmBridge;
using System.Diagnostics;
using Demos.Maas.Models;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>UM-Bridge 1.0 in both directions: a Python requests client against our server, our client against a Python server.</summary>
public sealed class UmBridgeTests
{
    [SkippableFact]
    public async Task A_Python_requests_client_drives_every_UM_Bridge_route_of_our_server()
    {
        ExternalTools.RequirePythonRequests();
        await using var f = await HttpServerFixture.StartAsync();
        var (exit, output) = await Task.Run(() => ExternalTools.Run(ExternalTools.Python, [ExternalTools.ScriptPath("umbridge_client_check.py"), f.Uri.ToString()], TimeSpan.FromMinutes(2)));
        Assert.True(exit == 0, output);
        Assert.Matches(@"OK \d+ checks", output);
    }

    [SkippableTheory]
    [InlineData("1.0")]
    [InlineData("0.5")]
    public async Task Our_server_passes_the_UM_Bridge_protocol_conformity_checks_for_every_model(string inputValue)
    {
        ExternalTools.RequirePythonRequests();
        await using var f = await HttpServerFixture.StartAsync();
        var (exit, output) = await Task.Run(() => ExternalTools.Run(ExternalTools.Python, [ExternalTools.ScriptPath("umbridge_conformity.py"), f.Uri.ToString(), inputValue, "decay", "gaussian1d", "gaussian2d", "faulty"], TimeSpan.FromMinutes(2)));
        Assert.True(exit == 0, output);
        Assert.Matches(@"CONFORMS \d+ checks", output);
    }

    [SkippableFact]
    public async Task The_benchmarks_C_client_evaluates_over_one_connection_or_one_per_call_and_fails_clearly_on_an_error()
    {
        // benchmarks/clients/umbridge_evaluate.c times /Evaluate in the cross-process report; it reads
        // only answers with a Content-Length, so it also checks that we send those.
        string dir = Directory.CreateTempSubdirectory("maas-umbridge-c-").FullName;
        try
        {
            string client = BuildBenchmarkProgram(dir, "benchmarks/clients/umbridge_evaluate.c");

            await using var f = await HttpServerFixture.StartAsync();
            string port = f.Uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var (exit, output) = await Task.Run(() => ExternalTools.Run(client, [port, "gaussian1d", "300", "0"], TimeSpan.FromMinutes(1)));
            Assert.True(exit == 0, output);
            var figures = output.Trim().Split(' ').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(3, figures.Length);
            Assert.True(figures[0] > 0 && figures[0] <= figures[1] && figures[2] > 0, output);

            // A connection for every call, as UM-Bridge's own C++ client makes: each is accepted and answered.
            (exit, output) = await Task.Run(() => ExternalTools.Run(client, [port, "gaussian1d", "300", "0", "close"], TimeSpan.FromMinutes(1)));
            Assert.True(exit == 0, output);
            Assert.Equal(3, output.Trim().Split(' ').Length);

            (exit, output) = await Task.Run(() => ExternalTools.Run(client, [port, "nosuch", "10", "0"], TimeSpan.FromMinutes(1)));
            Assert.Equal(2, exit);
            Assert.Contains("did not answer 200", output, StringComparison.Ordinal);

            (exit, output) = await Task.Run(() => ExternalTools.Run(client, [port, "gaussian1d", "10", "0", "sometimes"], TimeSpan.FromMinutes(1)));
            Assert.Equal(2, exit);
            Assert.Contains("keep-alive or close", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public async Task The_benchmarks_C_HTTP_responder_answers_the_C_client_over_one_connection_and_one_per_call()
    {
        // benchmarks/floors/http_responder.c is the floor of the report's UM-Bridge rows.
        string dir = Directory.CreateTempSubdirectory("maas-http-responder-").FullName;
        try
        {
            string client = BuildBenchmarkProgram(dir, "benchmarks/clients/umbridge_evaluate.c");
            string responder = BuildBenchmarkProgram(dir, "benchmarks/floors/http_responder.c");

            var (exit, usage) = ExternalTools.Run(responder, [], TimeSpan.FromMinutes(1));
            Assert.Equal(2, exit);
            Assert.StartsWith("usage: http_responder PORT", usage.Trim(), StringComparison.Ordinal);

            int port = FreeTcpPort();
            using var server = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(responder, [$"{port}"]) { RedirectStandardOutput = true })!;
            try
            {
                Assert.Equal("ready", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
                foreach (string mode in new[] { "keep-alive", "close" })
                {
                    var (ran, output) = await Task.Run(() => ExternalTools.Run(client, [$"{port}", "gaussian1d", "300", "0", mode], TimeSpan.FromMinutes(1)));
                    Assert.True(ran == 0, output);
                    Assert.Equal(3, output.Trim().Split(' ').Length);
                }
            }
            finally
            {
                server.Kill();
                await server.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Builds one of the benchmark's C programs into dir as the report script does (warnings are
    // errors); without gcc the test is skipped, or fails under CI=true.
    private static string BuildBenchmarkProgram(string dir, string source)
    {
        bool gcc = File.Exists("/usr/bin/gcc");
        if (!gcc && ExternalTools.IsCi)
        {
            Assert.Fail("CI=true but gcc is missing: apt-get install -y gcc.");
        }

        Skip.IfNot(gcc, "gcc is not installed; set CI=true to make this a failure.");
        string program = Path.Combine(dir, Path.GetFileNameWithoutExtension(source));
        var (built, output) = ExternalTools.Run("/usr/bin/gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", program, Path.Combine(Demos.Maas.Tests.TestEnvironment.RepositoryRoot, source)], TimeSpan.FromMinutes(2));
        Assert.True(built == 0, output);
        return program;
    }

    private static int FreeTcpPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public void The_reference_server_timing_script_fails_in_one_line_without_umbridge_or_with_wrong_arguments()
    {
        // benchmarks/umbridge/time-reference-server.sh times UM-Bridge's own Python server for the
        // report where the umbridge package is installed; elsewhere it must say what is missing.
        string script = Path.Combine(Demos.Maas.Tests.TestEnvironment.RepositoryRoot, "benchmarks", "umbridge", "time-reference-server.sh");
        var (exit, output) = ExternalTools.Run("/usr/bin/env", ["PYTHON=/bin/false", "bash", script, "/bin/true", "10", "0"], TimeSpan.FromMinutes(1));
        Assert.Equal(2, exit);
        Assert.Contains("cannot import umbridge and aiohttp", output, StringComparison.Ordinal);
        Assert.Single(output.Trim().Split('\n'));

        (exit, output) = ExternalTools.Run("/usr/bin/env", ["bash", script, "/bin/true"], TimeSpan.FromMinutes(1));
        Assert.Equal(2, exit);
        Assert.StartsWith("usage: time-reference-server.sh", output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Our_client_reads_our_own_server_and_matches_the_local_model()
    {
        await using var f = await HttpServerFixture.StartAsync();
        var decay = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{f.Uri.Port}/decay"));
        Assert.Equal([2], decay.InputSizes);
        Assert.Equal([8], decay.OutputSizes);
        Assert.True(decay.Info.Has(ModelCapabilities.Evaluate | ModelCapabilities.EvaluateVjp | ModelCapabilities.EvaluateJvp));
        var local = DecayModel.Create();
        using var x = DoubleMatrix.FromRows([100, 0.3], [50, 0.01]);
        using var v = DoubleMatrix.FromRows([.. Enumerable.Range(0, 8).Select(k => (double)k)], [.. Enumerable.Repeat(1.0, 8)]);
        using var w = DoubleMatrix.FromRows([1, 0], [0, 1]);
        await AssertCloseAsync(local.EvaluateAsync(x), decay.EvaluateAsync(x));
        await AssertCloseAsync(local.GradientAsync(GradientKind.EvaluateVjp, x, v), decay.GradientAsync(GradientKind.EvaluateVjp, x, v));
        await AssertCloseAsync(local.GradientAsync(GradientKind.EvaluateJvp, x, w), decay.GradientAsync(GradientKind.EvaluateJvp, x, w));

        // 2 inputs, 8 outputs: UM-Bridge's ApplyHessian length convention and the Hessian action disagree, so it is not offered.
        Assert.False(decay.SupportsApplyHessian);
        var gauss = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{f.Uri.Port}/gaussian1d"));
        double[] hessian = await gauss.ApplyHessianAsync(0, 0, 0, [0.5], [2.0], [3.0]);
        Assert.Equal(-6.0, Assert.Single(hessian), 6);

        var withConfig = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{f.Uri.Port}/decay"), config: """{"background": 2.5}""");
        await AssertCloseAsync(local.EvaluateAsync(x, new double[] { 2.5 }), withConfig.EvaluateAsync(x));

        var missing = await Assert.ThrowsAsync<MaasException>(() => UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{f.Uri.Port}/nope")));
        Assert.Equal(MaasErrorCode.NotFound, missing.Code);
        using var negative = DoubleMatrix.FromPoint(-1);
        var faulty = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{f.Uri.Port}/faulty"));
        var failed = await Assert.ThrowsAsync<MaasException>(async () => await faulty.EvaluateAsync(negative));
        Assert.Equal(MaasErrorCode.ModelError, failed.Code);
        Assert.Contains("InvalidOutput", failed.Message);
    }

    [SkippableFact]
    public async Task Our_client_drives_a_Python_http_server_UM_Bridge_server_including_errors()
    {
        ExternalTools.RequirePythonRequests();
        using var server = StartPythonServer(out int port);
        try
        {
            var forward = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/forward"));
            Assert.Equal([2, 1], forward.InputSizes);
            Assert.Equal(3, forward.Info.InputDimension);
            Assert.Equal(2, forward.Info.OutputDimension);
            Assert.True(forward.SupportsApplyHessian);

            // f(a, b) = [a0 b0, a1 + b0^2]; J = [[b0, 0, a0], [0, 1, 2 b0]].
            using var x = DoubleMatrix.FromRows([2, 3, 4], [1, -1, 0.5]);
            using var y = await forward.EvaluateAsync(x);
            Assert.Equal([8.0, 19.0, 0.5, -0.75], y.ToArray());
            using var sens = DoubleMatrix.FromRows([1, 1], [2, 0]);
            using var vjp = await forward.GradientAsync(GradientKind.EvaluateVjp, x, sens);
            Assert.Equal([4.0, 1.0, 2.0 + 8.0, 1.0, 0.0, 2.0], vjp.ToArray());
            using var vec = DoubleMatrix.FromRows([1, 0, 1], [0, 1, 0]);
            using var jvp = await forward.GradientAsync(GradientKind.EvaluateJvp, x, vec);
            Assert.Equal([4.0 + 2.0, 8.0, 0.0, 1.0], jvp.ToArray());
            // Hessian of sens·f w.r.t. (a, b) on vec_b: d2(s0 a0 b0)/da0 db0 = s0.
            double[] hessian = await forward.ApplyHessianAsync(0, 0, 1, [2, 3, 4], [3, 1], [1]);
            Assert.Equal([3.0, 0.0], hessian);

            // Bridged ApplyHessian is forwarded to the upstream, which answers it exactly; a model without it is not advertised.
            await using (var hessianBridge = new Demos.Maas.Server.MaasServer(transports: [new HttpTransport(new HttpTransportOptions().AddUmBridgeRoutes())]))
            {
                hessianBridge.AddModel(await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/quartic")));
                hessianBridge.AddModel(await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/evalonly")));
                var bridgeUri = await hessianBridge.ListenAsync("http://127.0.0.1:0");
                using var http = new HttpClient { BaseAddress = bridgeUri };
                using var info = System.Text.Json.JsonDocument.Parse(await (await http.PostAsync(new Uri("ModelInfo", UriKind.Relative), new StringContent("""{"name": "quartic"}""", System.Text.Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync());
                Assert.True(info.RootElement.GetProperty("support").GetProperty("ApplyHessian").GetBoolean());
                using var evalOnlyInfo = System.Text.Json.JsonDocument.Parse(await (await http.PostAsync(new Uri("ModelInfo", UriKind.Relative), new StringContent("""{"name": "evalonly"}""", System.Text.Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync());
                Assert.False(evalOnlyInfo.RootElement.GetProperty("support").GetProperty("ApplyHessian").GetBoolean());
                using var forwarded = System.Text.Json.JsonDocument.Parse(await (await http.PostAsync(new Uri("ApplyHessian", UriKind.Relative), new StringContent("""{"name": "quartic", "input": [[0.3]], "outWrt": 0, "inWrt1": 0, "inWrt2": 0, "sens": [2.0], "vec": [1.5], "config": {}}""", System.Text.Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync());
                Assert.Equal(12 * 0.3 * 0.3 * 2.0 * 1.5, forwarded.RootElement.GetProperty("output")[0].GetDouble(), 15);
            }

            // Bridged: the UM-Bridge model hosted by a MaasServer, called by MaasClient over http://.
            await using (var bridge = new Demos.Maas.Server.MaasServer(transports: [new HttpTransport(new HttpTransportOptions().AddUmBridgeRoutes())]))
            {
                bridge.AddModel(forward);
                var bridgeUri = await bridge.ListenAsync("http://127.0.0.1:0");
                var options = new Demos.Maas.Client.MaasClientOptions();
                options.Transports.Add(new HttpTransport());
                await using var client = await Demos.Maas.Client.MaasClient.ConnectAsync(bridgeUri, options);
                var remote = await client.GetModelAsync("forward");
                using var bridged = await remote.EvaluateAsync(x);
                Assert.Equal(y.ToArray(), bridged.ToArray());
                using var bridgedVjp = await remote.GradientAsync(GradientKind.EvaluateVjp, x, sens);
                Assert.Equal(vjp.ToArray(), bridgedVjp.ToArray());
            }

            var scaled = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/forward"), config: """{"scale": 10}""");
            using var y10 = await scaled.EvaluateAsync(x);
            Assert.Equal([80.0, 190.0, 5.0, -7.5], y10.ToArray());

            // Errors reported by the server, each to its code.
            foreach (var (type, code) in new[] { ("InvalidInput", MaasErrorCode.InvalidArgument), ("ModelNotFound", MaasErrorCode.NotFound), ("UnsupportedFeature", MaasErrorCode.Unsupported), ("InvalidOutput", MaasErrorCode.ModelError) })
            {
                // The failure config also fails the handshake's size queries: the error must come through typed.
                var error = await Assert.ThrowsAsync<MaasException>(() => UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/forward"), config: $$"""{"fail": "{{type}}"}"""));
                Assert.Equal(code, error.Code);
                Assert.Contains(type, error.Message);
            }

            var missing = await Assert.ThrowsAsync<MaasException>(() => UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/nope")));
            Assert.Equal(MaasErrorCode.NotFound, missing.Code);
            var evalOnly = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/evalonly"));
            using var one = DoubleMatrix.FromPoint(1.5);
            using var two = await evalOnly.EvaluateAsync(one);
            Assert.Equal(3.0, two[0, 0]);
            Assert.Equal(MaasErrorCode.Unsupported, (await Assert.ThrowsAsync<MaasException>(async () => await evalOnly.GradientAsync(GradientKind.EvaluateVjp, one, one))).Code);
            Assert.Equal(MaasErrorCode.Unsupported, (await Assert.ThrowsAsync<MaasException>(() => evalOnly.ApplyHessianAsync(0, 0, 0, [1], [1], [1]))).Code);
            var broken = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/broken"));
            Assert.Equal(MaasErrorCode.ModelError, (await Assert.ThrowsAsync<MaasException>(async () => await broken.EvaluateAsync(one))).Code);
            using var wrong = DoubleMatrix.FromPoint(1, 2);
            Assert.Equal(MaasErrorCode.InvalidArgument, (await Assert.ThrowsAsync<MaasException>(async () => await forward.EvaluateAsync(wrong))).Code);
            Assert.Equal(MaasErrorCode.InvalidArgument, (await Assert.ThrowsAsync<MaasException>(async () => await forward.EvaluateAsync(x, new double[] { 1 }))).Code);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        var gone = await Assert.ThrowsAsync<MaasException>(() => UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{port}/forward")));
        Assert.Equal(MaasErrorCode.Unavailable, gone.Code);
    }

    private static Process StartPythonServer(out int port)
    {
        var info = new ProcessStartInfo(ExternalTools.Python) { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(ExternalTools.ScriptPath("umbridge_server.py"));
        var process = Process.Start(info)!;
        var line = process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        Assert.StartsWith("PORT ", line);
        port = int.Parse(line![5..], System.Globalization.CultureInfo.InvariantCulture);
        return process;
    }

    private static async Task AssertCloseAsync(ValueTask<DoubleMatrix> expectedTask, ValueTask<DoubleMatrix> actualTask)
    {
        using var expected = await expectedTask;
        using var actual = await actualTask;
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Columns, actual.Columns);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected.Span[i], actual.Span[i], 1e-12 * Math.Max(1, Math.Abs(expected.Span[i])));
        }
    }
}
