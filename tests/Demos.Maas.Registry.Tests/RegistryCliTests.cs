using Demos.Maas.Cli.Tests;
using Demos.Maas.Models;
using Demos.Maas.Tests;

namespace Demos.Maas.Registry.Tests;

/// <summary>The <c>maas</c> tool's registry commands as a user runs them, against a real registry process.</summary>
public sealed class RegistryCliTests
{
    private static readonly string Decay = DecayModel.Uuid.ToString("D");

    private static Task<(int Code, string Output)> MaasAsync(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        TestEnvironment.RunAsync("dotnet", Path.GetTempPath(), [MaasProcess.ToolPath, .. args], environment, TimeSpan.FromMinutes(2));

    [Fact]
    public async Task Serve_registers_heartbeats_and_deregisters_and_the_tool_resolves_calls_and_verifies_by_uuid()
    {
        string store = TestModels.TempPath("registry.db");
        string work = Directory.CreateTempSubdirectory("maas-reg-cli-").FullName;
        var (registry, url) = await RegistryFixture.StartRegistryAsync(store);
        await using var registryProcess = registry;
        var env = new Dictionary<string, string> { ["MAAS_REGISTRY"] = url.ToString(), ["MAAS_REGISTRY_KEY"] = RegistryFixture.Key };
        try
        {
            await using var serve = MaasProcess.Start("serve", "--model", "decay", "--listen", "tcp://127.0.0.1:0", "--register", url.ToString(),
                "--registry-key", RegistryFixture.Key, "--heartbeat-seconds", "1", "--region", "site-b");
            string endpoint = await serve.WaitForLineAsync("listening ");
            await serve.WaitForLineAsync("registered decay");

            var (code, output) = await MaasAsync(env, "registry", "list");
            Assert.True(code == 0, output);
            Assert.Contains($"{Decay}@1.0.0 {endpoint}", output, StringComparison.Ordinal);
            Assert.Contains("region=site-b", output, StringComparison.Ordinal);

            (code, output) = await MaasAsync(env, "registry", "search", "decay");
            Assert.True(code == 0 && output.Contains(Decay, StringComparison.Ordinal), output);
            (code, output) = await MaasAsync(env, "registry", "versions", Decay);
            Assert.True(code == 0 && output.StartsWith("1.0.0 sha256:", StringComparison.Ordinal), output);
            (code, output) = await MaasAsync(env, "ref", "resolve", $"maas://{Decay}@1.0.0");
            Assert.True(code == 0 && output.Contains($"endpoint {endpoint}", StringComparison.Ordinal), output);

            // A call by uuid through the registry, with the tool's standard transports.
            string input = Path.Combine(work, "x.json");
            await File.WriteAllTextAsync(input, "{\"x\": [[100, 0.3]]}");
            (code, output) = await MaasAsync(env, "call", $"maas://{Decay}", Decay, "evaluate", "--input", input);
            Assert.True(code == 0, output);

            // A reference written from what the server answers verifies online; one naming another version does not.
            string reference = Path.Combine(work, "decay.json");
            (code, output) = await MaasAsync(env, "ref", "new", endpoint, "--model", "decay", "-o", reference);
            Assert.True(code == 0, output);
            (code, output) = await MaasAsync(env, "ref", "verify", "--online", reference);
            Assert.True(code == 0 && output.StartsWith("ok: ", StringComparison.Ordinal), output);
            string wrong = Path.Combine(work, "wrong.json");
            await File.WriteAllTextAsync(wrong, (await File.ReadAllTextAsync(reference)).Replace("\"1.0.0\"", "\"1.0.1\"", StringComparison.Ordinal));
            (code, output) = await MaasAsync(env, "ref", "verify", "--online", wrong);
            Assert.True(code == 10 + (int)MaasErrorCode.VersionMismatch && output.Contains("1.0.1", StringComparison.Ordinal), output);
            string malformed = Path.Combine(work, "malformed.json");
            await File.WriteAllTextAsync(malformed, (await File.ReadAllTextAsync(reference)).Replace(Decay, "nope", StringComparison.Ordinal));
            (code, output) = await MaasAsync(env, "ref", "verify", malformed);
            Assert.True(code == 10 + (int)MaasErrorCode.InvalidArgument && output.Contains("field 'uuid'", StringComparison.Ordinal), output);

            // Writes without the key are refused; with it, a version registers by hand.
            (code, output) = await MaasAsync(new Dictionary<string, string> { ["MAAS_REGISTRY"] = url.ToString(), ["MAAS_REGISTRY_KEY"] = "" }, "registry", "register", reference);
            Assert.True(code == 10 + (int)MaasErrorCode.Unauthenticated, output);

            // Drain: the server deregisters its endpoint before it stops.
            serve.Signal("TERM");
            Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("deregistered", serve.Stdout, StringComparison.Ordinal);
            (code, output) = await MaasAsync(env, "registry", "list");
            Assert.True(code == 0 && !output.Contains(endpoint, StringComparison.Ordinal), output);

            // The registry down: a clear, typed error.
            registry.Signal("TERM");
            await registry.WaitForExitAsync(TimeSpan.FromSeconds(30));
            (code, output) = await MaasAsync(env, "registry", "search");
            Assert.True(code == 10 + (int)MaasErrorCode.Unavailable && output.Contains("cannot be reached", StringComparison.Ordinal), output);
        }
        finally
        {
            File.Delete(store);
            Directory.Delete(work, recursive: true);
        }
    }
}
