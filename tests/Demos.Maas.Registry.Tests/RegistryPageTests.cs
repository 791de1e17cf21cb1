using System.Diagnostics;
using Demos.Maas.Tests;
using Xunit.Abstractions;

namespace Demos.Maas.Registry.Tests;

/// <summary>The registry's web page, served for real and rendered by a real headless Chromium.</summary>
public sealed class RegistryPageTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_page_lists_models_versions_endpoints_and_health_searchable_in_a_real_browser()
    {
        string store = TestModels.TempPath("registry.db");
        await using var registry = await RegistryFixture.StartInProcessRegistryAsync(store, TimeSpan.FromSeconds(1));
        using var writer = new RegistryClient(registry.Uri, RegistryFixture.Key);
        foreach (string version in new[] { "1.0.0", "1.1.0" })
        {
            var model = TestModels.Create(version);
            // Nothing listens there: the monitor marks it unhealthy, which the page shows.
            await writer.RegisterAsync(new RegistrationRequest { Name = "shifted-normal", Reference = TestModels.Reference(model, "tcp://127.0.0.1:9"), Endpoints = [new EndpointRegistration { Uri = $"tcp://127.0.0.1:{(version == "1.0.0" ? 9 : 10)}", Region = "site-a" }] });
        }

        await RegistryFixture.EventuallyAsync(() => writer.ListEndpointsAsync(), e => e.All(x => x.Health == EndpointHealth.Unhealthy), "probed");
        using var http = new HttpClient();
        string page = await http.GetStringAsync(new Uri(registry.Uri, "/?q=lovelace"));
        Assert.Contains("shifted-normal", page, StringComparison.Ordinal);
        Assert.Contains("1.0.0, 1.1.0", page, StringComparison.Ordinal);
        Assert.Contains("tcp://127.0.0.1:10", page, StringComparison.Ordinal);
        Assert.Contains("class=\"Unhealthy\"", page, StringComparison.Ordinal);
        Assert.Contains("1 model(s)", page, StringComparison.Ordinal);
        Assert.Contains("0 model(s)", await http.GetStringAsync(new Uri(registry.Uri, "/?q=%3Cscript%3E")), StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", await http.GetStringAsync(new Uri(registry.Uri, "/?q=%3Cscript%3E")), StringComparison.Ordinal);

        string? chromium = new[] { "chromium", "chromium-browser" }.FirstOrDefault(TestEnvironment.OnPath);
        if (chromium is null)
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "chromium is missing on CI: scripts/install-test-deps.sh installs it.");
            Skip.If(true, "chromium is not installed (apt-get install chromium).");
        }

        string profile = Directory.CreateTempSubdirectory("maas-chromium-").FullName;
        string screenshot = Path.Combine(AppContext.BaseDirectory, "registry-page.png");
        File.Delete(screenshot);
        try
        {
            string url = new Uri(registry.Uri, "/?q=shifted").ToString();
            string[] flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}"];
            var (code, dom) = await TestEnvironment.RunAsync(chromium, profile, [.. flags, "--dump-dom", url], limit: TimeSpan.FromMinutes(2));
            Assert.True(code == 0, dom);
            Assert.Contains("shifted-normal", dom, StringComparison.Ordinal);
            Assert.Contains("Unhealthy", dom, StringComparison.Ordinal);

            var watch = Stopwatch.StartNew();
            (code, string log) = await TestEnvironment.RunAsync(chromium, profile, [.. flags, "--window-size=1200,700", $"--screenshot={screenshot}", url], limit: TimeSpan.FromMinutes(2));
            Assert.True(code == 0 && File.Exists(screenshot), log);
            byte[] png = await File.ReadAllBytesAsync(screenshot);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            Assert.True(png.Length > 5_000, $"a screenshot of {png.Length} bytes is too small to show the page");
            output.WriteLine($"screenshot of {url}: {screenshot} ({png.Length} bytes, {watch.Elapsed.TotalSeconds:0.0} s)");
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
            File.Delete(store);
        }
    }
}
