using Demos.Maas.UmBridge;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>A MaasServer with the standard test models listening on http://127.0.0.1:0, and a plain HttpClient.</summary>
internal sealed class HttpServerFixture : IAsyncDisposable
{
    private HttpServerFixture(MaasServer server, Uri uri, BlockingModel blocking)
    {
        Server = server;
        Uri = uri;
        Blocking = blocking;
        Http = new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(60) };
    }

    public MaasServer Server { get; }

    public Uri Uri { get; }

    public BlockingModel Blocking { get; }

    public HttpClient Http { get; }

    public static async Task<HttpServerFixture> StartAsync(Action<MaasServerOptions>? configure = null, Action<MaasServer>? setup = null, string listen = "http://127.0.0.1:0")
    {
        var options = new MaasServerOptions();
        configure?.Invoke(options);
        var blocking = new BlockingModel();
        var server = new MaasServer(options, [new HttpTransport(new HttpTransportOptions().AddUmBridgeRoutes())]);
        foreach (var model in TestModels.Standard(blocking))
        {
            server.AddModel(model);
        }

        setup?.Invoke(server);
        var uri = await server.ListenAsync(listen);
        return new HttpServerFixture(server, uri, blocking);
    }

    public async Task<(int Status, JsonElement Body)> JsonAsync(HttpMethod method, string path, string? json = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        configure?.Invoke(request);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text.Length == 0 ? "null" : text);
        return ((int)response.StatusCode, document.RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
