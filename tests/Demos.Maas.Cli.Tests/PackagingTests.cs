using Demos.Maas.Tests;

namespace Demos.Maas.Cli.Tests;

/// <summary>
/// The packages as an engine uses them: `dotnet pack` Core and the pipe transport into a folder
/// feed, restore them into a fresh project outside this repository, serve and call a model.
/// </summary>
public sealed class PackagingTests
{
    [Fact]
    public async Task A_fresh_project_restores_core_and_the_pipe_transport_from_a_folder_feed_and_makes_a_call()
    {
        string root = TestEnvironment.RepositoryRoot;
        string work = Path.Combine(Path.GetTempPath(), $"maas-pack-{Guid.NewGuid():N}");
        string feed = Path.Combine(work, "feed");
        string app = Path.Combine(work, "engine");
        Directory.CreateDirectory(app);

        // A version no earlier run used, so the global package cache cannot hand back a stale copy.
        string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        foreach (var project in new[] { "src/Demos.Maas.Core", "src/Demos.Maas.Transports.Pipe" })
        {
            await TestEnvironment.RunCheckedAsync("dotnet", root, "pack", Path.Combine(root, project), "-c", "Release", "-o", feed, $"-p:Version={version}");
        }

        Assert.True(File.Exists(Path.Combine(feed, $"Demos.Maas.Core.{version}.nupkg")));
        Assert.True(File.Exists(Path.Combine(feed, $"Demos.Maas.Core.{version}.snupkg")));
        Assert.True(File.Exists(Path.Combine(feed, $"Demos.Maas.Transports.Pipe.{version}.nupkg")));

        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Engine.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Demos.Maas.Core" Version="{version}" />
                <PackageReference Include="Demos.Maas.Transports.Pipe" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
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
        Directory.Delete(work, recursive: true);
    }
}
