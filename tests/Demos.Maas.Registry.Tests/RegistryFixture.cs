using Demos.Maas.Cli.Tests;
using Demos.Maas.Client;
using Demos.Maas.Server;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Registry.Tests;

/// <summary>Helpers for tests against a real registry process (<c>maas registry serve</c>) and real model servers.</summary>
internal static class RegistryFixture
{
    public static readonly string Key = RegistryKey.Generate();
    public static readonly string KeyHash = RegistryKey.Hash(Key);

    /// <summary>Starts <c>maas registry serve</c> on a free port with <paramref name="store"/>; returns the process and its URL.</summary>
    public static async Task<(MaasProcess Process, Uri Url)> StartRegistryAsync(string store, double probeSeconds = 0.3)
    {
        var process = MaasProcess.Start("registry", "serve", "--listen", "http://127.0.0.1:0", "--store", store, "--key-hash", KeyHash,
            "--probe-seconds", probeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--probe-timeout-seconds", "2");
        string url = await process.WaitForLineAsync("listening ");
        return (process, new Uri(url));
    }

    public static IMaasTransport[] Transports() => [new PipeTransport(), new TcpTransport()];

    /// <summary>An in-process registry on a free port, stored in <paramref name="store"/>, that probes its endpoints every 200 ms over pipe and tcp.</summary>
    public static Task<RegistryServer> StartInProcessRegistryAsync(string store, TimeSpan probeTimeout)
    {
        var options = new RegistryServerOptions { Listen = "http://127.0.0.1:0", Store = store, KeyHash = KeyHash, ProbeInterval = TimeSpan.FromMilliseconds(200), ProbeTimeout = probeTimeout };
        foreach (var transport in Transports())
        {
            options.Transports.Add(transport);
        }

        return RegistryServer.StartAsync(options);
    }

    /// <summary>A model server on <paramref name="listen"/> hosting <paramref name="model"/>.</summary>
    public static async Task<(MaasServer Server, Uri Uri)> StartEndpointAsync(IModel model, string listen)
    {
        var server = new MaasServer(new MaasServerOptions { DrainTimeout = TimeSpan.FromSeconds(1) }, Transports());
        server.AddModel(model);
        var uri = await server.ListenAsync(listen);
        return (server, uri);
    }

    public static string TcpListen => "tcp://127.0.0.1:0";

    public static string PipeListen(string name) => $"pipe://{TestModels.TempPath(name + ".sock")}";

    /// <summary>Client options speaking pipe, tcp and maas:// (resolved through <paramref name="registry"/>).</summary>
    public static MaasClientOptions ClientOptions(string registry, bool retry = true)
    {
        var options = new MaasClientOptions { ConnectTimeout = TimeSpan.FromSeconds(5) };
        if (!retry)
        {
            options.Retry = null;
        }

        foreach (var t in Transports())
        {
            options.Transports.Add(t);
        }

        options.Transports.Add(new RegistryTransport(new RegistryResolverOptions { Registry = registry }));
        return options;
    }

    /// <summary>Polls until <paramref name="condition"/> holds (a health probe's outcome is awaited, never timed).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        T value = await read();
        while (!condition(value))
        {
            if (limit.IsCancellationRequested)
            {
                throw new TimeoutException($"Still not {what} after 60 s.");
            }

            await Task.Delay(100);
            value = await read();
        }

        return value;
    }
}
