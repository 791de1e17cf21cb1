using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Demos.Maas.Registry;

namespace Demos.Maas.Cli;

/// <summary><c>maas registry serve|key|register|deregister|list|search|versions</c> (docs/registry.md).</summary>
internal static class RegistryCommand
{
    public const string KeyHashVariable = "MAAS_REGISTRY_KEY_HASH";

    public static Command Create() => new("registry", "Run a model registry, or register, find and list models in one.")
    {
        Serve(), Key(), Register(), Deregister(), List(), Search(), Versions(),
    };

    private static Command Serve()
    {
        var listen = new Option<string>("--listen", "-l") { Description = "Where to listen (http://ip:port)", DefaultValueFactory = _ => "http://127.0.0.1:8470" };
        var store = new Option<string>("--store") { Description = "A SQLite file, or postgresql://user@host:port/db (or an Npgsql connection string)", DefaultValueFactory = _ => "maas-registry.db" };
        var keyHash = new Option<string?>("--key-hash") { Description = $"Salted hash of the write key, from `maas registry key` (default: ${KeyHashVariable}; none: read-only)" };
        var probe = new Option<double>("--probe-seconds") { Description = "Seconds between health probes of every endpoint", DefaultValueFactory = _ => 10 };
        var probeTimeout = new Option<double>("--probe-timeout-seconds") { Description = "Seconds one probe may take", DefaultValueFactory = _ => 3 };
        var command = new Command("serve", "Serve a registry over HTTP until SIGINT/SIGTERM.") { listen, store, keyHash, probe, probeTimeout };
        command.SetAction((result, _) => Failures.RunAsync(async () =>
        {
            var options = new RegistryServerOptions
            {
                Listen = result.GetValue(listen)!,
                Store = result.GetValue(store)!,
                KeyHash = result.GetValue(keyHash) ?? Environment.GetEnvironmentVariable(KeyHashVariable),
                ProbeInterval = TimeSpan.FromSeconds(result.GetValue(probe)),
                ProbeTimeout = TimeSpan.FromSeconds(result.GetValue(probeTimeout)),
            };
            if (options.KeyHash is { } hash && !RegistryKey.IsValidHash(hash))
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "--key-hash: expected the hash `maas registry key` prints (sha256$<salt>$<hash>).");
            }

            foreach (var transport in Transports.All())
            {
                options.Transports.Add(transport);
            }

            using var stop = new CancellationTokenSource();
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            await using var server = await RegistryServer.StartAsync(options).ConfigureAwait(false);
            Console.WriteLine($"listening {server.Uri}");
            Console.WriteLine($"store {server.Store.Kind}{(options.KeyHash is null ? " (read-only: no key hash)" : "")}");
            await Console.Out.FlushAsync().ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // SIGINT or SIGTERM: stop.
            }

            Console.WriteLine("stopped");
            return 0;
        }));
        return command;
    }

    private static Command Key()
    {
        var command = new Command("key", "Make a new write key: prints the key (for writers) and its salted hash (for `registry serve --key-hash`).");
        command.SetAction(_ =>
        {
            string key = RegistryKey.Generate();
            Console.WriteLine($"key {key}");
            Console.WriteLine($"hash {RegistryKey.Hash(key)}");
            return 0;
        });
        return command;
    }

    private static Command Register()
    {
        var file = new Argument<string>("reference") { Description = "The version's maas_reference file" };
        var name = new Option<string?>("--name") { Description = "The model's display name (default: the reference's uuid)" };
        var endpoints = new Option<string[]>("--endpoint", "-e") { Description = "An endpoint serving the version (repeatable; default: the reference's endpoint)" };
        var region = new Option<string?>("--region") { Description = "Region label of the endpoints" };
        var registry = RegistryOptions.Registry();
        var key = RegistryOptions.Key();
        var command = new Command("register", "Register a version and its endpoints.") { file, name, endpoints, region, registry, key };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            var reference = MaasReferenceJson.Load(result.GetValue(file)!);
            var uris = result.GetValue(endpoints) is { Length: > 0 } given ? given : [reference.Endpoint];
            using var client = RegistryOptions.Client(result, registry, key);
            var resolution = await client.RegisterAsync(
                new RegistrationRequest
                {
                    Name = result.GetValue(name) ?? reference.Uuid.ToString("D"),
                    Reference = reference,
                    Endpoints = [.. uris.Select(u => new EndpointRegistration { Uri = u, Region = result.GetValue(region) })],
                },
                ct).ConfigureAwait(false);
            Console.WriteLine($"registered {reference.Uuid}@{reference.Version} with {resolution.Endpoints.Count} endpoint(s)");
            return 0;
        }));
        return command;
    }

    private static Command Deregister()
    {
        var address = new Argument<string>("model") { Description = "<uuid>[@version]" };
        var endpoint = new Argument<string>("endpoint") { Description = "The endpoint URI to remove" };
        var registry = RegistryOptions.Registry();
        var key = RegistryOptions.Key();
        var command = new Command("deregister", "Remove an endpoint of a model (of one version, or of all).") { address, endpoint, registry, key };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            var (uuid, version) = RegistryTransport.ParseAddress(new Uri("maas://" + result.GetValue(address)));
            using var client = RegistryOptions.Client(result, registry, key);
            await client.DeregisterAsync(uuid, version, result.GetValue(endpoint)!, ct).ConfigureAwait(false);
            Console.WriteLine($"deregistered {result.GetValue(endpoint)}");
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var registry = RegistryOptions.Registry();
        var command = new Command("list", "List every endpoint with its health.") { registry };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            using var client = RegistryOptions.Client(result, registry);
            foreach (var e in await client.ListEndpointsAsync(ct).ConfigureAwait(false))
            {
                string latency = e.LatencyMs?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-";
                Console.WriteLine($"{e.Uuid:D}@{e.Version} {e.Uri} transport={e.Transport} region={e.Region ?? "-"} health={e.Health} latency_ms={latency} last_seen={e.LastSeen?.ToString("u", CultureInfo.InvariantCulture) ?? "-"}");
            }

            return 0;
        }));
        return command;
    }

    private static Command Search()
    {
        var text = new Argument<string?>("text") { Description = "Words to find in name, description, authors, DOI or uuid", Arity = ArgumentArity.ZeroOrOne };
        var author = new Option<string?>("--author") { Description = "An author (substring)" };
        var doi = new Option<string?>("--doi") { Description = "A DOI (exact)" };
        var registry = RegistryOptions.Registry();
        var command = new Command("search", "Find models.") { text, author, doi, registry };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            using var client = RegistryOptions.Client(result, registry);
            var found = await client.SearchAsync(result.GetValue(text), result.GetValue(author), result.GetValue(doi), ct).ConfigureAwait(false);
            foreach (var m in found)
            {
                Console.WriteLine($"{m.Uuid:D} {m.Name} {m.LatestVersion} versions={string.Join(",", m.Versions)} doi={m.Metadata.Doi ?? "-"} authors={string.Join("; ", m.Metadata.Authors)}");
            }

            return found.Count > 0 ? 0 : 1;
        }));
        return command;
    }

    private static Command Versions()
    {
        var uuid = new Argument<string>("uuid") { Description = "The model's uuid" };
        var registry = RegistryOptions.Registry();
        var command = new Command("versions", "List a model's versions (its history).") { uuid, registry };
        command.SetAction((result, ct) => Failures.RunAsync(async () =>
        {
            var (id, _) = RegistryTransport.ParseAddress(new Uri("maas://" + result.GetValue(uuid)));
            using var client = RegistryOptions.Client(result, registry);
            foreach (var v in await client.ListVersionsAsync(id, ct).ConfigureAwait(false))
            {
                Console.WriteLine($"{v.Reference.Version} {v.Reference.Checksum} registered={v.RegisteredAt.ToString("u", CultureInfo.InvariantCulture)} {v.Name}");
            }

            return 0;
        }));
        return command;
    }
}
