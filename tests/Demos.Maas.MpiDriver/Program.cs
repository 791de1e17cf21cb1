using System.Diagnostics;
using System.Globalization;
using Demos.Maas;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Transports.Mpi;

// Modes: "checks" (rank 0 against any workers hosting gaussian2d and decay), "faults" (rank 0
// against "worker" ranks), "worker" (hosts faulty, slow and spin1ms), "bench" (rank 0: 256 calls of a
// 1 ms model against "worker" ranks, with the in-process baseline measured in the same run).
string mode = args.Length > 0 ? args[0] : "checks";
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (mode == "worker")
{
    var server = new MaasServer();
    server.AddModel(Faulty()).AddModel(Slow()).AddModel(Spin1Ms());
    await MpiWorker.ServeAsync(server);
    return 0;
}

if (mode == "port-server")
{
    var server = new MaasServer();
    server.AddModel(GaussianModel.Create(2));
    await MpiPort.ServeAsync(server, args[1]);
    return 0;
}

if (mode == "port-client")
{
    await using var client = await MpiPort.ConnectAsync(args[1]);
    var model = await client.GetModelAsync("gaussian2d");
    using var x = DoubleMatrix.FromRows([0.5, 1], [2, -1]);
    using var y = await model.LogDensityAsync(x);
    bool ok = Math.Abs(y[0, 0] - GaussianModel.LogDensityOf([0.5, 1], [0, 0], [1, 1])) < 1e-12;
    Console.WriteLine($"CHECK mode2-connect-accept {(ok ? "PASS" : "FAIL wrong value")}");
    return ok ? 0 : 1;
}

await using var cluster = await MpiCluster.ConnectAsync(new MaasClientOptions { DefaultTimeout = TimeSpan.FromMinutes(2) });
Console.WriteLine($"INFO rank {cluster.Runtime.Rank} of {cluster.Runtime.Size}; {cluster.Runtime.LibraryVersion}; thread level {cluster.Runtime.ThreadLevel}");
int failed = 0;
async Task Check(string name, Func<Task> body)
{
    try
    {
        await body();
        Console.WriteLine($"CHECK {name} PASS");
    }
    catch (Exception ex)
    {
        failed++;
        Console.WriteLine($"CHECK {name} FAIL {ex.GetType().Name}: {ex.Message.Replace('\n', ' ')}");
    }
}

static void Same(DoubleMatrix expected, DoubleMatrix actual)
{
    if (expected.Rows != actual.Rows || expected.Columns != actual.Columns)
    {
        throw new InvalidOperationException($"shape {actual.Rows}x{actual.Columns}, expected {expected.Rows}x{expected.Columns}");
    }

    for (int i = 0; i < expected.Length; i++)
    {
        double e = expected.Span[i], a = actual.Span[i];
        if (Math.Abs(e - a) > 1e-12 * Math.Max(1, Math.Abs(e)))
        {
            throw new InvalidOperationException($"element {i}: {a} != {e}");
        }
    }
}

static DoubleMatrix Points(int rows, int columns)
{
    var x = DoubleMatrix.Rent(rows, columns);
    for (int i = 0; i < x.Length; i++)
    {
        x.Span[i] = Math.Sin(i * 0.37) * 3;
    }

    return x;
}

switch (mode)
{
    case "checks":
    {
        var gauss = await cluster.GetModelAsync("gaussian2d");
        var decay = await cluster.GetModelAsync("decay");
        var localGauss = GaussianModel.Create(2);
        var localDecay = DecayModel.Create();
        await Check("workers", () => cluster.Workers.Count == 2 && gauss.Workers == 2 ? Task.CompletedTask : throw new InvalidOperationException($"{cluster.Workers.Count} workers"));
        await Check("info", () => gauss.Info.Uuid == localGauss.Info.Uuid && decay.Info.OutputDimension == 8 ? Task.CompletedTask : throw new InvalidOperationException("info differs"));
        await Check("logdensity-small", async () => { using var x = Points(10, 2); using var a = await localGauss.LogDensityAsync(x); using var b = await gauss.LogDensityAsync(x); Same(a, b); });
        await Check("logdensity-split-across-ranks-in-order", async () => { using var x = Points(1001, 2); using var a = await localGauss.LogDensityAsync(x); using var b = await gauss.LogDensityAsync(x); Same(a, b); });
        await Check("gradient-x-split", async () => { using var x = Points(600, 2); using var a = await localGauss.GradientAsync(GradientKind.LogDensityWrtX, x); using var b = await gauss.GradientAsync(GradientKind.LogDensityWrtX, x); Same(a, b); });
        await Check("gradient-theta", async () => { using var x = Points(7, 2); double[] theta = [0.5, -1, 2, 0.5]; using var a = await localGauss.GradientAsync(GradientKind.LogDensityWrtTheta, x, theta: theta); using var b = await gauss.GradientAsync(GradientKind.LogDensityWrtTheta, x, theta: theta); Same(a, b); });
        await Check("evaluate-split", async () => { using var x = Points(512, 2); using var a = await localDecay.EvaluateAsync(x); using var b = await decay.EvaluateAsync(x); Same(a, b); });
        await Check("vjp-jvp-split", async () =>
        {
            using var x = Points(300, 2);
            using var v = Points(300, 8);
            using var w = Points(300, 2);
            using var a = await localDecay.GradientAsync(GradientKind.EvaluateVjp, x, v);
            using var b = await decay.GradientAsync(GradientKind.EvaluateVjp, x, v);
            Same(a, b);
            using var c = await localDecay.GradientAsync(GradientKind.EvaluateJvp, x, w);
            using var d = await decay.GradientAsync(GradientKind.EvaluateJvp, x, w);
            Same(c, d);
        });
        await Check("sample-seeded", async () => { using var a = await localGauss.SampleMatrixAsync(500, seed: 11); using var b = await gauss.SampleMatrixAsync(500, seed: 11); Same(a, b); });
        await Check("data", async () => { using var a = await localGauss.ReadDatasetMatrixAsync("draws", 5, 20); using var b = await gauss.ReadDatasetMatrixAsync("draws", 5, 20); Same(a, b); });
        await Check("parameters-updated-on-every-rank", async () =>
        {
            var set = await gauss.UpdateParametersAsync(ParameterUpdate.Of("mu", 0.25, -0.5));
            await localGauss.UpdateParametersAsync(ParameterUpdate.Of("mu", 0.25, -0.5));
            if (set["mu"][1] != -0.5)
            {
                throw new InvalidOperationException("update not applied");
            }

            using var x = Points(800, 2);
            using var a = await localGauss.LogDensityAsync(x);
            using var b = await gauss.LogDensityAsync(x);
            Same(a, b);
        });
        await Check("concurrent-calls", async () =>
        {
            var calls = Enumerable.Range(0, 64).Select(async i =>
            {
                using var x = DoubleMatrix.FromPoint(i * 0.1, -i * 0.05);
                using var a = await localGauss.LogDensityAsync(x);
                using var b = await gauss.LogDensityAsync(x);
                Same(a, b);
            });
            await Task.WhenAll(calls);
        });
        await Check("bad-rank-uri-invalid-argument", async () =>
        {
            var transport = new MpiTransport(cluster.Runtime);
            foreach (var uri in new[] { "mpi://99", "mpi://0", "mpi://x" })
            {
                try
                {
                    await transport.ConnectAsync(new Uri(uri));
                    throw new InvalidOperationException($"{uri}: no error");
                }
                catch (MaasException ex) when (ex.Code == MaasErrorCode.InvalidArgument)
                {
                }
            }
        });
        await Check("missing-port-file-unavailable", async () =>
        {
            try
            {
                await MpiPort.ConnectAsync("/nonexistent/maas-port.txt");
                throw new InvalidOperationException("no error");
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.Unavailable && ex.Message.Contains("No MPI port file", StringComparison.Ordinal))
            {
            }
        });
        await Check("unknown-model-not-found", async () =>
        {
            try
            {
                await cluster.GetModelAsync("nope");
                throw new InvalidOperationException("no error");
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.NotFound)
            {
            }
        });
        break;
    }

    case "faults":
    {
        var faulty = await cluster.GetModelAsync("faulty");
        await Check("model-error-reported", async () =>
        {
            try
            {
                await faulty.LogDensityAsync([-1.0]);
                throw new InvalidOperationException("no error");
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.ModelError && ex.Message.Contains("boom", StringComparison.Ordinal))
            {
            }
        });
        await Check("job-carries-on-after-model-error", async () =>
        {
            if (await faulty.LogDensityAsync([2.0]) != 2.0)
            {
                throw new InvalidOperationException("wrong value");
            }
        });
        await Check("deadline-exceeded", async () =>
        {
            var slow = (await cluster.Workers[0].GetModelAsync("slow")).WithTimeout(TimeSpan.FromMilliseconds(200));
            try
            {
                await slow.LogDensityAsync([1.0]);
                throw new InvalidOperationException("no error");
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.DeadlineExceeded)
            {
            }
        });
        break;
    }

    case "bench":
    {
        const int Calls = 256;
        var model = await cluster.GetModelAsync("spin1ms");
        var local = Spin1Ms();
        for (int i = 0; i < 8; i++)
        {
            await model.LogDensityAsync([0.5]);
        }

        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Calls; i++)
        {
            await local.LogDensityAsync([0.5]);
        }

        double baseline = Calls / watch.Elapsed.TotalSeconds;
        watch.Restart();
        await Task.WhenAll(Enumerable.Range(0, Calls).Select(i => model.LogDensityAsync([i * 0.01]).AsTask()));
        double throughput = Calls / watch.Elapsed.TotalSeconds;
        Console.WriteLine($"BENCH workers={model.Workers} calls={Calls} in_process_calls_per_s={baseline:0.0} mpi_calls_per_s={throughput:0.0} ratio={throughput / baseline:0.000}");
        break;
    }

    default:
        Console.WriteLine($"unknown mode {mode}");
        return 2;
}

Console.WriteLine($"SUMMARY {(failed == 0 ? "PASS" : "FAIL")} failed={failed}");
return failed == 0 ? 0 : 1;

static IModel Faulty() => ModelBuilder.Create("faulty").WithInputDimension(1).WithLogDensity((a, r) =>
{
    for (int i = 0; i < a.Rows; i++)
    {
        r[i] = a.X[i] < 0 ? throw new InvalidOperationException($"boom at x = {a.X[i]}") : a.X[i];
    }
}).Build();

static IModel Slow() => ModelBuilder.Create("slow").WithInputDimension(1).WithLogDensity((a, r) =>
{
    // Sleeps in short steps until cancelled: a long computation that watches its token.
    for (int step = 0; step < 6000 && !a.CancellationToken.IsCancellationRequested; step++)
    {
        Thread.Sleep(10);
    }

    a.CancellationToken.ThrowIfCancellationRequested();
    r[0] = 0;
}).Build();

// The benchmark's model: 1 ms of computation per call (a spin, so the time is CPU time, as for a real model).
static IModel Spin1Ms() => ModelBuilder.Create("spin1ms").WithInputDimension(1).WithLogDensity((a, r) =>
{
    long until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 1000);
    while (Stopwatch.GetTimestamp() < until)
    {
        Thread.SpinWait(10);
    }

    for (int i = 0; i < a.Rows; i++)
    {
        r[i] = -0.5 * a.X[i] * a.X[i];
    }
}).Build();
