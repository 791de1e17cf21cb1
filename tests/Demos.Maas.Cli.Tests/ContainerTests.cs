using System.Diagnostics;
using Demos.Maas.Tests;
using System.Net;
using System.Net.Sockets;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// A real container on this machine: an image built FROM scratch holding the NativeAOT maas binary
/// and the libraries ldd lists (deploy/collect-rootfs.sh), run with podman on the host network,
/// called and probed from outside and inside. The container is removed whatever happens.
/// </summary>
public sealed class ContainerTests
{
    [SkippableFact]
    public async Task A_scratch_image_of_the_native_binary_serves_and_answers_health_probes()
    {
        if (!TestEnvironment.OnPath("podman"))
        {
            // Missing on CI is a failure (.ci/run installs it); on a developer machine, a reported skip.
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "podman is missing on CI: .ci/run installs podman and runc.");
            Skip.If(true, "podman is not installed (apt-get install podman runc).");
        }

        string root = TestEnvironment.RepositoryRoot;
        string work = Path.Combine(Path.GetTempPath(), $"maas-ctr-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        string binary = Environment.GetEnvironmentVariable("MAAS_AOT_BINARY") is { Length: > 0 } given && File.Exists(given)
            ? given
            : await PublishAotAsync(root, Path.Combine(work, "aot"));
        await TestEnvironment.RunCheckedAsync("bash", work, Path.Combine(root, "deploy", "collect-rootfs.sh"), binary, Path.Combine(work, "rootfs"));
        await File.WriteAllTextAsync(Path.Combine(work, "Containerfile"), """
            FROM scratch
            COPY rootfs/ /
            USER 65532:65532
            ENTRYPOINT ["/usr/local/bin/maas"]
            CMD ["serve", "--listen", "tcp://127.0.0.1:5000"]
            """);
        // The podman settings users are told to use (deploy/README.md), not a private copy.
        File.Copy(Path.Combine(root, "deploy", "podman", "containers.conf"), Path.Combine(work, "containers.conf"));
        string id = Guid.NewGuid().ToString("N")[..12];
        string image = $"localhost/maas-test:{id}", name = $"maas-test-{id}";
        int port = FreePort();
        string uri = $"tcp://127.0.0.1:{port}";
        try
        {
            await Podman(work, "build", "-t", image, work);
            await Podman(work, (string[])["run", "-d", "--name", name, "--network", "host", image, "serve", "--listen", uri, .. ExampleModels.Names.SelectMany(m => new[] { "--model", m })]);

            // Wait (bounded) until the server inside answers its health probe.
            var watch = Stopwatch.StartNew();
            (int Code, string Output) health = (1, "");
            while (watch.Elapsed < TimeSpan.FromSeconds(60) && (health = await TryRunAsync(binary, work, "health", uri, "--timeout-seconds", "2")).Code != 0)
            {
                await Task.Delay(200);
            }

            Assert.True(health.Code == 0, $"never healthy: {health.Output}\n{(await TryRunAsync("podman", work, "logs", name)).Output}");
            var inside = await TryRunAsync("podman", work, "exec", name, "/usr/local/bin/maas", "health", uri);
            Assert.True(inside.Code == 0, inside.Output);
            Assert.StartsWith($"ready: {ExampleModels.Names.Count} models", inside.Output.Trim());

            var options = new MaasClientOptions();
            options.Transports.Add(new TcpTransport());
            await using var client = await MaasClient.ConnectAsync(uri, options);
            var gauss = await client.GetModelAsync("gaussian1d");
            Assert.Equal(GaussianModel.LogDensityOf([0.7], [0.0], [1.0]), await gauss.LogDensityAsync([0.7]), 12);
            var decay = await client.GetModelAsync("decay");
            Assert.Equal(DecayModel.Activity(100, 0.3, 5, 1), (await decay.EvaluateAsync([100.0, 0.3]))[1], 12);

            // Name-based uuids and unseeded draws need SHA-1 and fresh seeds: a scratch image has no
            // OpenSSL, so both must come from managed code.
            var gauss2 = await client.GetModelAsync("gaussian2d");
            Assert.Equal(ModelBuilder.NameBasedUuid("gaussian2d"), gauss2.Info.Uuid);
            foreach (var example in ExampleModels.Names)
            {
                var model = await client.GetModelAsync(example);
                if (model.Info.Capabilities.HasFlag(ModelCapabilities.Sample))
                {
                    using var draws = await model.SampleMatrixAsync(10);
                    Assert.Equal(10, draws.Rows);
                }
            }

            var cli = await TryRunAsync(binary, work, "call", uri, "gaussian2d", "sample", "--count", "3");
            Assert.True(cli.Code == 0, cli.Output);
        }
        finally
        {
            await TryRunAsync("podman", work, "rm", "-f", name);
            await TryRunAsync("podman", work, "rmi", "-f", image);
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task Podman(string directory, params string[] args) => await Podman(directory, (IEnumerable<string>)args);

    private static async Task Podman(string directory, IEnumerable<string> args)
    {
        var (code, output) = await TestEnvironment.RunAsync("podman", directory, args, new Dictionary<string, string> { ["CONTAINERS_CONF"] = Path.Combine(directory, "containers.conf") });
        Assert.True(code == 0, $"podman {string.Join(' ', args)} failed:\n{output}");
    }

    private static async Task<string> PublishAotAsync(string root, string output)
    {
        await TestEnvironment.RunCheckedAsync("dotnet", root, "publish", Path.Combine(root, "src", "Demos.Maas.Cli"), "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output);
        return Path.Combine(output, "maas");
    }

    private static async Task<(int Code, string Output)> TryRunAsync(string file, string directory, params string[] args) =>
        await TestEnvironment.RunAsync(file, directory, args, new Dictionary<string, string> { ["CONTAINERS_CONF"] = Path.Combine(directory, "containers.conf") });

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
