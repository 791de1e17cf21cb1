using System.CommandLine;
using System.Globalization;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas demo</c>: the README's main job. Serves the example models on a local pipe (or the URI
/// given), connects a client, and walks through every capability.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var listen = new Option<string?>("--listen") { Description = "Where to serve (default: a Unix socket in the temp folder)" };
        var command = new Command("demo", "Serve the example models and call every capability.") { listen };
        command.SetAction((result, ct) => Failures.RunAsync(() => RunAsync(result.GetValue(listen), ct)));
        return command;
    }

    private static async Task<int> RunAsync(string? listen, CancellationToken ct)
    {
        string uri = listen ?? $"pipe://{Path.Combine(Path.GetTempPath(), $"maas-demo-{Environment.ProcessId}.sock")}";
        await using var server = new MaasServer(new MaasServerOptions(), Transports.All());
        server.AddModel(GaussianModel.Create(2)).AddModel(DecayModel.Create());
        var bound = await server.ListenAsync(uri, ct).ConfigureAwait(false);
        Section($"Server listening on {bound}");

        await using var client = await MaasClient.ConnectAsync(bound, Transports.ClientOptions(), ct).ConfigureAwait(false);
        Console.WriteLine($"connected: {client.Server.Agent}, protocol {client.Server.Version}");

        Section("Info");
        foreach (var info in await client.ListModelsAsync(ct).ConfigureAwait(false))
        {
            InfoCommand.Print(info);
        }

        var gauss = await client.GetModelAsync("gaussian2d", ct).ConfigureAwait(false);
        Section("LogDensity of a batch of 5 points (one round trip)");
        using (var x = DoubleMatrix.FromRows([0, 0], [1, 0], [0, -1], [1.5, 1.5], [-3, 2]))
        using (var logp = await gauss.LogDensityAsync(x, cancellationToken: ct).ConfigureAwait(false))
        {
            for (int i = 0; i < x.Rows; i++)
            {
                double local = GaussianModel.LogDensityOf(x.Row(i), [0, 0], [1, 1]);
                Console.WriteLine($"  x = ({F(x[i, 0])}, {F(x[i, 1])})  log p = {F(logp[i, 0])}   (computed locally: {F(local)})");
            }
        }

        Section("Sample 4 draws with seed 42, twice (same seed, same draws)");
        using (var a = await gauss.SampleMatrixAsync(4, seed: 42, cancellationToken: ct).ConfigureAwait(false))
        using (var b = await gauss.SampleMatrixAsync(4, seed: 42, cancellationToken: ct).ConfigureAwait(false))
        {
            for (int i = 0; i < a.Rows; i++)
            {
                Console.WriteLine($"  ({F(a[i, 0])}, {F(a[i, 1])})   ({F(b[i, 0])}, {F(b[i, 1])})");
            }

            Console.WriteLine($"  identical: {a.Span.SequenceEqual(b.Span)}");
        }

        Section("Gradients");
        using (var x = DoubleMatrix.FromPoint(1, -2))
        using (var gx = await gauss.GradientAsync(GradientKind.LogDensityWrtX, x, cancellationToken: ct).ConfigureAwait(false))
        using (var gt = await gauss.GradientAsync(GradientKind.LogDensityWrtTheta, x, cancellationToken: ct).ConfigureAwait(false))
        {
            Console.WriteLine($"  gaussian2d  d log p/dx     at (1, -2) = [{string.Join(", ", gx.ToArray().Select(F))}]");
            Console.WriteLine($"  gaussian2d  d log p/dtheta at (1, -2) = [{string.Join(", ", gt.ToArray().Select(F))}]  (mu1, mu2, sigma1, sigma2)");
        }

        var decay = await client.GetModelAsync("decay", ct).ConfigureAwait(false);
        using (var x = DoubleMatrix.FromPoint(100, 0.3))
        using (var y = await decay.EvaluateAsync(x, cancellationToken: ct).ConfigureAwait(false))
        using (var v = DoubleMatrix.CopyOf(Enumerable.Repeat(1.0, DecayModel.Times).ToArray(), 1, DecayModel.Times))
        using (var vjp = await decay.GradientAsync(GradientKind.EvaluateVjp, x, v, cancellationToken: ct).ConfigureAwait(false))
        {
            Console.WriteLine($"  decay       F(A=100, lambda=0.3) = [{string.Join(", ", y.ToArray().Select(F))}]");
            Console.WriteLine($"  decay       1^T dF/d(A, lambda)  = [{string.Join(", ", vjp.ToArray().Select(F))}]");
        }

        Section("Parameters");
        var before = await gauss.GetParametersAsync(ct).ConfigureAwait(false);
        Console.WriteLine($"  version {before.Version}: mu = [{string.Join(", ", before["mu"])}]");
        var after = await gauss.UpdateParametersAsync(ParameterUpdate.Of("mu", 1, -1), ct).ConfigureAwait(false);
        Console.WriteLine($"  version {after.Version}: mu = [{string.Join(", ", after["mu"])}]");
        Console.WriteLine($"  log p(1, -1) now {F(await gauss.LogDensityAsync([1.0, -1.0], cancellationToken: ct).ConfigureAwait(false))} (the new mode)");

        Section("Data");
        foreach (var d in await gauss.ListDatasetsAsync(ct).ConfigureAwait(false))
        {
            Console.WriteLine($"  dataset '{d.Name}': {d.Rows} x {d.Columns}  {d.Description}");
        }

        using (var rows = await gauss.ReadDatasetMatrixAsync("draws", offset: 0, count: 3, ct).ConfigureAwait(false))
        {
            for (int i = 0; i < rows.Rows; i++)
            {
                Console.WriteLine($"  draws[{i}] = ({F(rows[i, 0])}, {F(rows[i, 1])})");
            }
        }

        Section("Errors are typed");
        try
        {
            await client.GetModelAsync("no-such-model", ct).ConfigureAwait(false);
        }
        catch (MaasException ex)
        {
            Console.WriteLine($"  {ex.Code}: {ex.Message}");
        }

        try
        {
            using var wrong = DoubleMatrix.FromPoint(1, 2, 3);
            await gauss.LogDensityAsync(wrong, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (MaasException ex)
        {
            Console.WriteLine($"  {ex.Code}: {ex.Message}");
        }

        Section("Done");
        return 0;
    }

    private static void Section(string title) => Console.WriteLine($"\n== {title}");

    private static string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}
