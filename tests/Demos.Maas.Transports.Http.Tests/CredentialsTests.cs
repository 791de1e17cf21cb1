using Demos.Maas.Client;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>Authorization headers reach the server's middleware as the call's credentials, from curl-like clients and from MaasClient over http://.</summary>
public sealed class CredentialsTests
{
    private static Task<HttpServerFixture> StartAsync() => HttpServerFixture.StartAsync(setup: s => s.Use(next => ctx =>
        ctx.Credentials == "secret" ? next(ctx)
        : throw new MaasException(ctx.Credentials is null ? MaasErrorCode.Unauthenticated : MaasErrorCode.PermissionDenied, $"credentials '{ctx.Credentials}' refused")));

    [Fact]
    public async Task Bearer_tokens_are_the_calls_credentials()
    {
        await using var f = await StartAsync();
        Assert.Equal(401, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[0]]}""")).Status);
        Assert.Equal(403, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[0]]}""", r => r.Headers.Authorization = new("Bearer", "wrong"))).Status);
        Assert.Equal(200, (await f.JsonAsync(HttpMethod.Post, "/v1/models/gaussian1d/logdensity", """{"x": [[0]]}""", r => r.Headers.Authorization = new("Bearer", "secret"))).Status);
        Assert.Equal(200, (await f.JsonAsync(HttpMethod.Get, "/v1/models", null, r => r.Headers.Authorization = new("Bearer", "secret"))).Status);
    }

    [Fact]
    public async Task MaasClient_credentials_travel_over_http()
    {
        await using var f = await StartAsync();
        var options = new MaasClientOptions { Credentials = "secret" };
        options.Transports.Add(new HttpTransport());
        await using (var client = await MaasClient.ConnectAsync(f.Uri, options))
        {
            var gauss = await client.GetModelAsync("gaussian1d");
            Assert.Equal(-0.5 * Math.Log(2 * Math.PI), await gauss.LogDensityAsync([0.0]), 12);
        }

        var anonymous = new MaasClientOptions();
        anonymous.Transports.Add(new HttpTransport());
        await using var refused = await MaasClient.ConnectAsync(f.Uri, anonymous);
        var error = await Assert.ThrowsAsync<MaasException>(() => refused.GetModelAsync("gaussian1d"));
        Assert.Equal(MaasErrorCode.Unauthenticated, error.Code);
    }
}
