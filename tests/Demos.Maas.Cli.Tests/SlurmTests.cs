using System.Globalization;
using System.Text.RegularExpressions;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Registry;
using Demos.Maas.Tests;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// Model servers on a real Slurm: a single-node cluster from Debian's slurm-wlm and munge
/// (deploy/slurm/local-cluster.sh), a real registry, three servers submitted with <c>maas slurm up</c>,
/// 5,000 calls through one load-spreading client while one server's job is cancelled.
/// </summary>
public sealed partial class SlurmTests
{
    private const int Calls = 5_000;

    [SkippableFact]
    public async Task Three_servers_in_a_job_array_share_5000_calls_and_a_cancelled_one_drains_and_deregisters()
    {
        RequireSlurm();
        string dir = Path.Combine("/tmp", $"maas-slurm-{Guid.NewGuid():N}"[..20]);
        string script = Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "slurm", "local-cluster.sh");
        string? job = null;
        var environment = new Dictionary<string, string>();
        try
        {
            var (code, output) = await TestEnvironment.RunAsync("bash", TestEnvironment.RepositoryRoot, [script, "start", dir, "2"], limit: TimeSpan.FromMinutes(2));
            Assert.True(code == 0, $"the cluster did not start:\n{output}");
            environment["SLURM_CONF"] = Path.Combine(dir, "slurm.conf");

            var (_, keys, _) = await MaasProcess.RunAsync("registry", "key");
            string key = Regex.Match(keys, @"^key (\S+)", RegexOptions.Multiline).Groups[1].Value;
            string hash = Regex.Match(keys, @"^hash (\S+)", RegexOptions.Multiline).Groups[1].Value;
            await using var registry = MaasProcess.Start("registry", "serve", "--listen", "http://127.0.0.1:0", "--store", Path.Combine(dir, "registry.db"), "--key-hash", hash, "--probe-seconds", "1");
            string registryUrl = (await registry.WaitForLineAsync("listening")).TrimEnd('/');
            environment["MAAS_REGISTRY_KEY"] = key;

            string outputs = Path.Combine(dir, "out");
            Directory.CreateDirectory(outputs);
            var (upCode, up) = await TestEnvironment.RunAsync("dotnet", dir,
                [MaasProcess.ToolPath, "slurm", "up", "--model", "gaussian1d", "--servers", "3", "--partition", "debug", "--time", "30",
                 "--registry", registryUrl, "--host", "127.0.0.1", "--metrics", "--output", outputs, "--drain-seconds", "5", "--wait-seconds", "120"],
                environment, TimeSpan.FromMinutes(3));
            Assert.True(upCode == 0, $"maas slurm up failed ({upCode}):\n{up}");
            job = Regex.Match(up, @"submitted job (\d+)").Groups[1].Value;
            Assert.Contains("registered 3 servers", up, StringComparison.Ordinal);

            var servers = new List<(string Task, Uri Tcp, Uri Metrics)>();
            for (int task = 0; task < 3; task++)
            {
                string log = await File.ReadAllTextAsync(Path.Combine(outputs, $"maas-{job}_{task}.out"));
                servers.Add(($"{job}_{task}", new Uri(Regex.Match(log, @"^listening (tcp://\S+)", RegexOptions.Multiline).Groups[1].Value),
                    new Uri(Regex.Match(log, @"^listening (http://\S+) \(not registered\)", RegexOptions.Multiline).Groups[1].Value)));
            }

            var uuid = ExampleModels.Create("gaussian1d").Info.Uuid;
            var options = new MaasClientOptions();
            options.Transports.Add(new TcpTransport());
            var resolver = new RegistryTransport(new RegistryResolverOptions { Registry = registryUrl });
            await using var model = await MultiEndpointModel.ConnectAsync(LoadSpreadAddress.Parse($"maas+lb://?e=maas://{uuid}&refresh_s=1", resolver.LoadSpread()), options);
            Assert.Equal(3, model.Endpoints.Count);

            using var http = new HttpClient();
            var cancelled = servers[1];
            long cancelledCount = 0;
            int correct = await RunAsync(model, async () =>
            {
                cancelledCount = await ServerCallsAsync(http, cancelled.Metrics);
                var (c, o) = await TestEnvironment.RunAsync("dotnet", dir, [MaasProcess.ToolPath, "slurm", "down", cancelled.Task], environment);
                Assert.True(c == 0, o);

                // Deregistered on SIGTERM, before the drain: the registry stops listing it.
                using var client = new RegistryClient(new Uri(registryUrl));
                for (int i = 0; i < 600 && (await client.ResolveAsync(uuid)).Endpoints.Any(e => e.Uri == cancelled.Tcp.ToString()); i++)
                {
                    await Task.Delay(100);
                }
            });

            Assert.Equal(Calls, correct);
            using (var client = new RegistryClient(new Uri(registryUrl)))
            {
                var listed = (await client.ResolveAsync(uuid)).Endpoints.Select(e => e.Uri).ToList();
                Assert.DoesNotContain(cancelled.Tcp.ToString(), listed);
                Assert.Equal(2, listed.Count);
            }

            Assert.True(await model.RefreshAsync());
            Assert.DoesNotContain(cancelled.Tcp, model.Endpoints);
            string cancelledLog = await File.ReadAllTextAsync(Path.Combine(outputs, $"maas-{cancelled.Task}.out"));
            for (int i = 0; i < 300 && !cancelledLog.Contains("stopped", StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
                cancelledLog = await File.ReadAllTextAsync(Path.Combine(outputs, $"maas-{cancelled.Task}.out"));
            }

            Assert.Contains("deregistered", cancelledLog, StringComparison.Ordinal);
            Assert.Contains("stopped", cancelledLog, StringComparison.Ordinal);

            // Every server took a share: counted by each server's own metrics.
            long first = await ServerCallsAsync(http, servers[0].Metrics), third = await ServerCallsAsync(http, servers[2].Metrics);
            Console.WriteLine($"SLURM: per-server LogDensity calls {first}, {cancelledCount} (before its cancellation), {third}; failovers {model.Failovers}");
            Assert.True(first > 0 && cancelledCount > 0 && third > 0, $"calls per server: {first}, {cancelledCount}, {third}");
            Assert.True(first + cancelledCount + third <= Calls, "no call counted twice");
            Assert.True(first > Calls / 10 && third > Calls / 10, $"the two servers left shared the rest: {first}, {third}");
        }
        finally
        {
            if (job is not null)
            {
                await TestEnvironment.RunAsync("scancel", "/", [job], environment);
            }

            await TestEnvironment.RunAsync("bash", TestEnvironment.RepositoryRoot, [script, "stop", dir], limit: TimeSpan.FromMinutes(1));
        }
    }

    [SkippableFact]
    public async Task A_server_whose_time_limit_nears_gets_sigterm_deregisters_and_drains()
    {
        RequireSlurm();
        string dir = Path.Combine("/tmp", $"maas-slurm-{Guid.NewGuid():N}"[..20]);
        string script = Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "slurm", "local-cluster.sh");
        var environment = new Dictionary<string, string>();
        try
        {
            var (code, output) = await TestEnvironment.RunAsync("bash", TestEnvironment.RepositoryRoot, [script, "start", dir, "2"], limit: TimeSpan.FromMinutes(2));
            Assert.True(code == 0, $"the cluster did not start:\n{output}");
            environment["SLURM_CONF"] = Path.Combine(dir, "slurm.conf");
            var (_, keys, _) = await MaasProcess.RunAsync("registry", "key");
            environment["MAAS_REGISTRY_KEY"] = Regex.Match(keys, @"^key (\S+)", RegexOptions.Multiline).Groups[1].Value;
            await using var registry = MaasProcess.Start("registry", "serve", "--listen", "http://127.0.0.1:0", "--store", Path.Combine(dir, "registry.db"), "--key-hash", Regex.Match(keys, @"^hash (\S+)", RegexOptions.Multiline).Groups[1].Value);
            string registryUrl = (await registry.WaitForLineAsync("listening")).TrimEnd('/');
            string outputs = Path.Combine(dir, "out");
            Directory.CreateDirectory(outputs);

            // A one-minute limit with SIGTERM 30 s before it (sbatch --signal=B:TERM@30).
            var (upCode, up) = await TestEnvironment.RunAsync("dotnet", dir,
                [MaasProcess.ToolPath, "slurm", "up", "--model", "decay", "--servers", "1", "--time", "1", "--signal-seconds", "30",
                 "--registry", registryUrl, "--host", "127.0.0.1", "--output", outputs, "--wait-seconds", "60"],
                environment, TimeSpan.FromMinutes(2));
            Assert.True(upCode == 0, $"maas slurm up failed ({upCode}):\n{up}");
            string job = Regex.Match(up, @"submitted job (\d+)").Groups[1].Value;
            string file = Path.Combine(outputs, $"maas-{job}_0.out");
            string log = await File.ReadAllTextAsync(file);
            for (int i = 0; i < 1800 && !log.Contains("stopped", StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
                log = await File.ReadAllTextAsync(file);
            }

            Assert.Contains("stopped", log, StringComparison.Ordinal);
            Assert.True(log.IndexOf("deregistered", StringComparison.Ordinal) is >= 0 and var d && d < log.IndexOf("Stopping: draining", StringComparison.Ordinal), $"deregistered before the drain:\n{log}");
            using var client = new RegistryClient(new Uri(registryUrl));
            Assert.Empty((await client.ResolveAsync(DecayModel.Uuid)).Endpoints);
        }
        finally
        {
            await TestEnvironment.RunAsync("bash", TestEnvironment.RepositoryRoot, [script, "stop", dir], limit: TimeSpan.FromMinutes(1));
        }
    }

    private static void RequireSlurm()
    {
        bool root = Environment.UserName == "root";
        bool installed = new[] { "sbatch", "scancel", "squeue", "sinfo", "slurmctld", "slurmd", "munged" }.All(t => TestEnvironment.OnPath(t) || File.Exists("/usr/sbin/" + t));
        Assert.True(Environment.GetEnvironmentVariable("CI") != "true" || (root && installed), "Slurm (slurm-wlm, munge) and root are needed on CI: scripts/install-test-deps.sh installs them.");
        Skip.If(!root || !installed, "needs root and Debian's slurm-wlm and munge");
    }

    /// <summary>
    /// 5,000 one-point LogDensity calls on eight workers. The fault starts when a fifth are done; calls
    /// past the half wait for it to finish, so it happens mid-run whatever the machine's speed.
    /// </summary>
    private static async Task<int> RunAsync(IModel model, Func<Task> fault)
    {
        int next = -1, correct = 0;
        var fifth = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var faulted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task WorkerAsync()
        {
            for (int i = Interlocked.Increment(ref next); i < Calls; i = Interlocked.Increment(ref next))
            {
                if (i >= Calls / 2)
                {
                    await faulted.Task;
                }

                double x = i / (double)Calls;
                if (await model.LogDensityAsync([x]) == GaussianModel.LogDensityOf([x], [0.0], [1.0]))
                {
                    Interlocked.Increment(ref correct);
                }

                if (i == Calls / 5)
                {
                    fifth.TrySetResult();
                }
            }
        }

        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(WorkerAsync)).ToArray();
        await fifth.Task.WaitAsync(TimeSpan.FromMinutes(3));
        try
        {
            await fault();
        }
        finally
        {
            faulted.TrySetResult();
        }

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(3));
        return correct;
    }

    /// <summary>LogDensity calls a server answered, from its Prometheus endpoint.</summary>
    private static async Task<long> ServerCallsAsync(HttpClient http, Uri metrics)
    {
        string text = await http.GetStringAsync(new Uri(metrics, "/metrics"));
        return MetricLine().Matches(text).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^maas_calls_total\{[^}]*maas_operation=""LogDensity""[^}]*maas_side=""server""[^}]*\} (\d+)$", RegexOptions.Multiline)]
    private static partial Regex MetricLine();
}
