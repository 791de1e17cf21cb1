using System.CommandLine;
using System.Runtime.InteropServices;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Cli;

/// <summary><c>maas serve</c>: host models on one or more URIs until SIGINT/SIGTERM, then drain and exit 0.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var listen = new Option<string[]>("--listen", "-l") { Description = "URI to listen on (repeatable): pipe:///tmp/m.sock, shm://name, tcp://127.0.0.1:5000, http://127.0.0.1:8080, http+unix:///tmp/m.sock, inproc://name" };
        var model = new Option<string[]>("--model", "-m") { Description = $"Built-in model to host (repeatable; {BenchmarkModels.Choices}; default: {string.Join(", ", ExampleModels.Names)} unless the configuration, --native or --assembly names models)" };
        var assembly = new Option<string[]>("--assembly") { Description = "A .NET assembly whose public IModel types (with a parameterless constructor) are hosted (repeatable; the .NET tool build only)" };
        var native = new Option<string[]>("--native") { Description = "A shared library (.so) exporting maas_plugin_metadata and maas_plugin_callbacks: a C, C++ or Fortran model served without a main (repeatable)" };
        var config = new Option<string?>("--config", "-c") { Description = "JSON configuration file (see deploy/config/maas.json)" };
        var maxFrame = new Option<int?>("--max-frame") { Description = "Largest request frame in bytes (default 64 MiB)" };
        var maxInFlight = new Option<int?>("--max-in-flight") { Description = "Most concurrent requests per connection (default 1024)" };
        var drain = new Option<double?>("--drain-seconds") { Description = "How long a stop waits for running calls (default 10)" };
        var logLevel = new Option<LogLevel?>("--log-level") { Description = "Console log level (default Information)" };
        var register = new Option<string?>("--register") { Description = "Registry URL (http://host:port): register the models and endpoints on start, heartbeat, deregister on drain" };
        var registryKey = new Option<string?>("--registry-key") { Description = $"Write key of the registry (default: ${RegistryOptions.KeyVariable})" };
        var region = new Option<string?>("--region") { Description = "Region label of the registered endpoints" };
        var heartbeat = new Option<double>("--heartbeat-seconds") { Description = "Seconds between registry heartbeats", DefaultValueFactory = _ => 30 };
        var artifactDigest = new Option<string?>("--artifact-digest") { Description = "Digest of what the built-in models are served from (e.g. the container image digest), part of their checksum" };
        var metricsListen = new Option<string[]>("--metrics-listen") { Description = "A URI to listen on that is not registered with the registry (repeatable), e.g. http://127.0.0.1:0 for /metrics and the health probes" };
        var insecure = new Option<bool>("--insecure") { Description = "Listen on a non-loopback address without authentication (warns on every start; see docs/security.md)" };
        var compression = new Option<string?>("--compression") { Description = "Codecs accepted for large frames when a client offers them: lz4,zstd (default) or none" };
        var inlineIo = new Option<bool>("--inline-io") { Description = "Run asynchronous socket completions on the I/O thread (TLS and HTTP connections; pipe:// and tcp:// read on a thread of their own; see docs/user-guide.md)" };
        var command = new Command("serve", "Host models on one or more URIs until SIGINT/SIGTERM.") { listen, model, assembly, native, config, maxFrame, maxInFlight, drain, compression, logLevel, insecure, register, registryKey, region, heartbeat, artifactDigest, metricsListen, inlineIo };
        command.SetAction((result, _) => Failures.RunAsync(async () =>
        {
            if (result.GetValue(inlineIo))
            {
                InlineIo.Enable();
            }

            var configuration = ServeConfiguration.Load(result.GetValue(config));
            var options = configuration.Server;
            if (result.GetValue(maxFrame) is { } frame) { options.MaxFrameBytes = frame; }
            if (result.GetValue(maxInFlight) is { } inFlight) { options.MaxInFlightPerConnection = inFlight; }
            if (result.GetValue(drain) is { } seconds) { options.DrainTimeout = TimeSpan.FromSeconds(seconds); }
            if (result.GetValue(compression) is { } codecs) { SetCompression(options, Transports.ServerCompression(codecs, "--compression")); }
            options.AllowInsecure |= result.GetValue(insecure);
            var level = result.GetValue(logLevel) ?? configuration.LogLevel;
            using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; }).SetMinimumLevel(level));
            var uris = configuration.Listen.Concat(result.GetValue(listen) ?? []).ToList();
            if (uris.Count == 0)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "nothing to listen on: give --listen URI or \"listen\" in the configuration.");
            }

            var server = new MaasServer(options, Transports.All(configuration.Tls), loggerFactory);
            var assemblies = configuration.Assemblies.Concat(result.GetValue(assembly) ?? []).ToList();
            var natives = configuration.NativeModels.Concat(result.GetValue(native) ?? []).ToList();
            var names = configuration.Models.Concat(result.GetValue(model) ?? []).ToList();
            if (names.Count == 0 && assemblies.Count == 0 && natives.Count == 0)
            {
                names.AddRange(ExampleModels.Names);
            }

            // Each model with the digest of the artifact it is served from (docs/identity.md).
            var hosted = new List<(IModel Model, string? Artifact)>();
            bool registering = result.GetValue(register) is not null;
            foreach (var name in names)
            {
                hosted.Add((BenchmarkModels.Create(name), result.GetValue(artifactDigest)));
            }

            foreach (var path in natives)
            {
                var loaded = NativeModels.Load(path);
                hosted.Add((loaded, registering ? Registry.ModelChecksum.ForFile(path) : null));
                names.Add(loaded.Info.Name);
            }

            foreach (var path in assemblies)
            {
                foreach (var loaded in AssemblyModels.Load(path))
                {
                    hosted.Add((loaded, registering ? Registry.ModelChecksum.ForFile(path) : null));
                    names.Add(loaded.Info.Name);
                }
            }

            foreach (var (loaded, _) in hosted)
            {
                server.AddModel(loaded);
            }

            using var stop = new CancellationTokenSource();
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            ServeRegistration? registration = null;
            try
            {
                var boundUris = new List<Uri>();
                foreach (var uri in uris)
                {
                    var bound = await server.ListenAsync(uri).ConfigureAwait(false);
                    boundUris.Add(bound);
                    Console.WriteLine($"listening {bound}");
                }

                foreach (var uri in result.GetValue(metricsListen) ?? [])
                {
                    Console.WriteLine($"listening {await server.ListenAsync(uri).ConfigureAwait(false)} (not registered)");
                }

                Console.WriteLine($"serving {string.Join(", ", names)}{(InlineIo.Enabled ? " (inline I/O)" : "")}");
                if (result.GetValue(register) is { } registryUrl)
                {
                    string? key = result.GetValue(registryKey) ?? Environment.GetEnvironmentVariable(RegistryOptions.KeyVariable);
                    registration = await ServeRegistration.StartAsync(new Uri(registryUrl), string.IsNullOrEmpty(key) ? null : key, hosted, boundUris, result.GetValue(region), TimeSpan.FromSeconds(result.GetValue(heartbeat))).ConfigureAwait(false);
                }

                await Console.Out.FlushAsync().ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // SIGINT or SIGTERM: fall through to the drain.
                }
            }
            finally
            {
                // Deregistered before the drain, so resolution stops sending clients here.
                if (registration is not null)
                {
                    await registration.DisposeAsync().ConfigureAwait(false);
                }

                await server.DisposeAsync().ConfigureAwait(false);
            }

            Console.WriteLine("stopped");
            return 0;
        }));
        return command;
    }

    internal static void SetCompression(MaasServerOptions options, IEnumerable<Protocol.MaasCompression> codecs)
    {
        var chosen = codecs.ToList();
        options.Compression.Clear();
        foreach (var codec in chosen)
        {
            options.Compression.Add(codec);
        }
    }
}
