using System.CommandLine;
using Demos.Maas.Client;
using Demos.Maas.Registry;

namespace Demos.Maas.Cli;

/// <summary><c>maas ref new|verify|resolve</c>: write, check and resolve <c>maas_reference</c> documents.</summary>
internal static class RefCommand
{
    public static Command Create() => new("ref", "Write, verify and resolve maas_reference documents (docs/identity.md).") { New(), Verify(), Resolve() };

    private static Command New()
    {
        var uri = new Argument<string>("uri") { Description = "A server that serves the model (tcp://…, pipe://…, http://…)" };
        var model = new Option<string>("--model", "-m") { Description = "The model's name or uuid", Required = true };
        var endpoint = new Option<string?>("--endpoint") { Description = "The endpoint to write into the reference (default: the server URI)" };
        var artifact = new Option<string?>("--artifact") { Description = "The file the model is served from (.so, .dll): its SHA-256 becomes metadata.artifact" };
        var digest = new Option<string?>("--artifact-digest") { Description = "The artifact's digest, e.g. a container image digest sha256:…" };
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file (default: standard output)" };
        var command = new Command("new", "Write the reference of a model a server serves (checksum computed from what it answers).") { uri, model, endpoint, artifact, digest, output };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            await using var client = await MaasClient.ConnectAsync(result.GetValue(uri)!, Transports.ClientOptions(), ct).ConfigureAwait(false);
            var info = (await client.GetModelAsync(result.GetValue(model)!, ct).ConfigureAwait(false)).Info;
            string? artifactDigest = result.GetValue(digest) ?? (result.GetValue(artifact) is { } file ? ModelChecksum.ForFile(file) : null);
            var reference = new MaasReference
            {
                Uuid = info.Uuid,
                Endpoint = result.GetValue(endpoint) ?? result.GetValue(uri)!,
                Version = info.Version,
                Checksum = ModelChecksum.Compute(info, artifactDigest),
                Metadata = new MaasReferenceMetadata { Doi = info.Doi, Description = info.Description, Authors = [.. info.Authors], Artifact = artifactDigest },
            };
            string json = MaasReferenceJson.Serialize(reference);
            if (result.GetValue(output) is { } path)
            {
                await File.WriteAllTextAsync(path, json + "\n", ct).ConfigureAwait(false);
                Console.WriteLine($"wrote {path}: {info.Name} {info.Version} {reference.Checksum}");
            }
            else
            {
                Console.WriteLine(json);
            }

            return 0;
        }));
        return command;
    }

    private static Command Verify()
    {
        var file = new Argument<string>("file") { Description = "A maas_reference JSON file" };
        var online = new Option<bool>("--online") { Description = "Also connect to its endpoint and check that what answers has the reference's uuid, version and checksum" };
        var command = new Command("verify", "Check a reference document (and, --online, the model its endpoint serves).") { file, online };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            var reference = MaasReferenceJson.Load(result.GetValue(file)!);
            if (result.GetValue(online))
            {
                var options = Transports.ClientOptions();
                await using var invoker = await MaasCallInvoker.ConnectAsync(new Uri(reference.Endpoint), options, ct).ConfigureAwait(false);
                await RegistryTransport.VerifyAsync(invoker, reference, options.ConnectTimeout, ct).ConfigureAwait(false);
                Console.WriteLine($"ok: {reference.Endpoint} serves {reference.Uuid}@{reference.Version} {reference.Checksum}");
            }
            else
            {
                Console.WriteLine($"ok: {reference.Uuid}@{reference.Version} {reference.Checksum}");
            }

            return 0;
        }));
        return command;
    }

    private static Command Resolve()
    {
        var address = new Argument<string>("address") { Description = "maas://<uuid>[@version] or <uuid>[@version]" };
        var registry = new Option<string?>("--registry", "-r") { Description = $"Registry URL or reference file/directory (default: ${RegistryResolverOptions.EnvironmentVariable})" };
        var command = new Command("resolve", "Print the reference a uuid resolves to and its endpoints, preferred first.") { address, registry };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            string text = result.GetValue(address)!;
            var uri = new Uri(text.StartsWith("maas://", StringComparison.OrdinalIgnoreCase) ? text : "maas://" + text);
            var (uuid, version) = RegistryTransport.ParseAddress(uri);
            var resolver = new RegistryTransport(new RegistryResolverOptions { Registry = result.GetValue(registry) });
            var resolution = await resolver.ResolveAsync(uuid, version, ct).ConfigureAwait(false);
            Console.WriteLine(MaasReferenceJson.Serialize(resolution.Reference));
            foreach (var e in resolution.Endpoints)
            {
                Console.WriteLine($"endpoint {e.Uri} transport={e.Transport} region={e.Region ?? "-"} health={e.Health} latency_ms={e.LatencyMs?.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) ?? "-"}");
            }

            return 0;
        }));
        return command;
    }
}
