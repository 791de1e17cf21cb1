using Demos.Maas.Tests;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// The packages as a new user gets them (docs/user-guide.md, "Get the packages"): every package
/// packed into one folder by scripts/pack-feed.sh, `dotnet add package` in a fresh project outside
/// this repository, a model served and called; `dotnet tool install` of maas from the same folder,
/// and the installed tool run.
/// </summary>
public sealed class PackagingTests
{
    [Fact]
    public async Task A_fresh_project_adds_the_packages_from_the_folder_feed_and_the_maas_tool_installs_from_it()
    {
        string root = TestEnvironment.RepositoryRoot;
        string work = Path.Combine(Path.GetTempPath(), $"maas-pack-{Guid.NewGuid():N}");
        string feed = Path.Combine(work, "feed");
        string app = Path.Combine(work, "engine");
        Directory.CreateDirectory(app);

        // A version no earlier run used, so the global package cache cannot hand back a stale copy.
        string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        // Packing builds every package: beside the other test assemblies on two cores it can take
        // longer than the usual five-minute guard against a hung process.
        var (packCode, packOutput) = await TestEnvironment.RunAsync("bash", root, [Path.Combine(root, "scripts", "pack-feed.sh"), feed, version], limit: TimeSpan.FromMinutes(15));
        Assert.True(packCode == 0, $"scripts/pack-feed.sh {feed} {version} failed (exit {packCode}):\n{packOutput}");
        foreach (var package in new[] { "Core", "Models", "Transports.Pipe", "Transports.Shm", "Transports.Tcp", "Transports.Http", "Transports.Mpi", "Cli" })
        {
            Assert.True(File.Exists(Path.Combine(feed, $"Demos.Maas.{package}.{version}.nupkg")), $"Demos.Maas.{package} is not in the feed");
        }

        Assert.True(File.Exists(Path.Combine(feed, $"Demos.Maas.Core.{version}.snupkg")));

        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="maas-local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Engine.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
            </Project>
            """);
        await TestEnvironment.RunCheckedAsync("dotnet", app, "add", "package", "Demos.Maas.Core", "--version", version);
        await TestEnvironment.RunCheckedAsync("dotnet", app, "add", "package", "Demos.Maas.Transports.Pipe", "--version", version);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Demos.Maas;
            using Demos.Maas.Client;
            using Demos.Maas.Server;
            using Demos.Maas.Transports.Pipe;

            var model = ModelBuilder.Create("square")
                .WithInputDimension(1)
                .WithLogDensity((x, theta) => -x[0] * x[0])
                .Build();
            string socket = Path.Combine(Path.GetTempPath(), $"engine-{Environment.ProcessId}.sock");
            await using var server = new MaasServer(transports: [new PipeTransport()]);
            server.AddModel(model);
            var uri = await server.ListenAsync($"pipe://{socket}");
            var options = new MaasClientOptions();
            options.Transports.Add(new PipeTransport());
            await using var client = await MaasClient.ConnectAsync(uri, options);
            var remote = await client.GetModelAsync("square");
            Console.WriteLine($"logp(3) = {await remote.LogDensityAsync([3.0])}");
            """);
        string output = await TestEnvironment.RunCheckedAsync("dotnet", app, "run", "--project", app);
        Assert.Contains("logp(3) = -9", output);

        string tools = Path.Combine(work, "tools");
        await TestEnvironment.RunCheckedAsync("dotnet", app, "tool", "install", "Demos.Maas.Cli", "--tool-path", tools, "--version", version);
        string demo = await TestEnvironment.RunCheckedAsync(Path.Combine(tools, "maas"), app, "demo");
        Assert.Contains("gaussian2d", demo);
        Directory.Delete(work, recursive: true);
    }
}
