using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Demos.Maas.Client;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>A real reverse proxy in front: nginx on loopback load-balances two `maas serve --listen http://...` processes.</summary>
public sealed class NginxTests
{
    [SkippableFact]
    public async Task Requests_through_nginx_keep_succeeding_when_one_backend_is_killed()
    {
        string nginx = ExternalTools.RequireNginx();
        var prefix = Directory.CreateTempSubdirectory("maas-nginx-").FullName;
        var backends = new List<Process>();
        Process? proxy = null;
        try
        {
            var ports = new List<int>();
            for (int i = 0; i < 2; i++)
            {
                var (process, port) = await StartBackendAsync();
                backends.Add(process);
                ports.Add(port);
            }

            int proxyPort = FreePort();
            Directory.CreateDirectory(Path.Combine(prefix, "logs"));
            Directory.CreateDirectory(Path.Combine(prefix, "temp"));
            File.WriteAllText(Path.Combine(prefix, "nginx.conf"), $$"""
                worker_processes 1;
                error_log {{prefix}}/logs/error.log warn;
                pid {{prefix}}/nginx.pid;
                events { worker_connections 256; }
                http {
                    access_log off;
                    client_body_temp_path {{prefix}}/temp/body;
                    proxy_temp_path {{prefix}}/temp/proxy;
                    fastcgi_temp_path {{prefix}}/temp/fastcgi;
                    uwsgi_temp_path {{prefix}}/temp/uwsgi;
                    scgi_temp_path {{prefix}}/temp/scgi;
                    upstream maas {
                        server 127.0.0.1:{{ports[0]}} max_fails=1 fail_timeout=60s;
                        server 127.0.0.1:{{ports[1]}} max_fails=1 fail_timeout=60s;
                        keepalive 8;
                    }
                    server {
                        listen 127.0.0.1:{{proxyPort}};
                        location / {
                            proxy_pass http://maas;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_set_header Host $host;
                            proxy_buffering off;
                            client_max_body_size 0;
                            proxy_connect_timeout 2s;
                            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
                        }
                    }
                }
                """);
            var info = new ProcessStartInfo(nginx) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-p", prefix, "-c", Path.Combine(prefix, "nginx.conf"), "-g", "daemon off;" })
            {
                info.ArgumentList.Add(a);
            }

            proxy = Process.Start(info)!;
            var through = new Uri($"http://127.0.0.1:{proxyPort}/");
            using var http = new HttpClient { BaseAddress = through, Timeout = TimeSpan.FromSeconds(30) };
            await WaitUntilAsync(async () => (await http.GetAsync("/health/ready")).IsSuccessStatusCode, proxy, prefix);

            var options = new MaasClientOptions();
            options.Transports.Add(new HttpTransport());
            await using var client = await MaasClient.ConnectAsync(through, options);
            var gauss = await client.GetModelAsync("gaussian1d");
            double expected = -0.5 * Math.Log(2 * Math.PI);
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal(expected, await gauss.LogDensityAsync([0.0]), 12);
                Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/Evaluate", new StringContent("""{"name": "decay", "input": [[100, 0.3]]}""", Encoding.UTF8, "application/json"))).StatusCode);
            }

            // Kill one backend outright (no drain): every later request still succeeds through the other.
            backends[0].Kill(entireProcessTree: true);
            await backends[0].WaitForExitAsync();
            for (int i = 0; i < 40; i++)
            {
                Assert.Equal(expected, await gauss.LogDensityAsync([0.0]), 12);
                using var response = await http.PostAsync("/v1/models/gaussian1d/logdensity", new StringContent("""{"x": [[0]]}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                using var draws = await gauss.SampleMatrixAsync(100, seed: 3);
                Assert.Equal(100, draws.Rows);
            }
        }
        finally
        {
            if (proxy is not null && !proxy.HasExited)
            {
                proxy.Kill(entireProcessTree: true);
                await proxy.WaitForExitAsync();
            }

            foreach (var b in backends.Where(b => !b.HasExited))
            {
                b.Kill(entireProcessTree: true);
                await b.WaitForExitAsync();
            }

            Directory.Delete(prefix, recursive: true);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Process proxy, string prefix)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (proxy.HasExited)
            {
                var log = Path.Combine(prefix, "logs", "error.log");
                Assert.Fail($"nginx exited with {proxy.ExitCode}: {await proxy.StandardError.ReadToEndAsync()} {(File.Exists(log) ? await File.ReadAllTextAsync(log) : "")}");
            }

            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not up yet.
            }

            await Task.Delay(50);
        }

        Assert.Fail("nginx did not become ready in 30 s.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts `maas serve --listen http://127.0.0.1:0` and reads the bound port from its "listening" line.</summary>
    private static async Task<(Process Process, int Port)> StartBackendAsync()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { MaasToolPath(), "serve", "--listen", "http://127.0.0.1:0", "--log-level", "Warning" })
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        _ = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(guard.Token) is { } line)
        {
            if (line.StartsWith("listening ", StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync();
                return (process, new Uri(line["listening ".Length..].Trim()).Port);
            }
        }

        throw new InvalidOperationException($"maas serve exited with {(process.HasExited ? process.ExitCode : -1)} before listening.");
    }

    private static string MaasToolPath()
    {
        string here = AppContext.BaseDirectory;
        string config = here.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = new DirectoryInfo(here);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Demos.Maas.Core.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Repository root not found."), "src", "Demos.Maas.Cli", "bin", config, "net10.0", "maas.dll");
    }
}
