using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>MaaS routes inside an application's own ASP.NET Core app, behind its own authentication.</summary>
public sealed class MapMaasTests
{
    private const string Key = "s3cret-test-key";

    [Fact]
    public async Task MapMaas_serves_beside_the_apps_own_routes_behind_ASP_NET_Core_authentication()
    {
        await using var server = new MaasServer();
        server.AddModel(GaussianModel.Create(1));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddAuthentication("ApiKey").AddScheme<AuthenticationSchemeOptions, BearerKeyHandler>("ApiKey", null);
        builder.Services.AddAuthorization();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/hello", () => "hello from the app");
        app.MapMaas(server).RequireAuthorization();
        app.MapMaasHealth(server);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal("hello from the app", await http.GetStringAsync(new Uri("/hello", UriKind.Relative)));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);

        // The application's authentication guards the MaaS routes: no key and a wrong key are refused before any model runs.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/v1/models", UriKind.Relative))).StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/models", UriKind.Relative)))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-key");
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
        }

        // A MaasClient with the key (sent as a bearer token) works as over any transport.
        var options = new MaasClientOptions { Credentials = Key };
        options.Transports.Add(new HttpTransport());
        await using var client = await MaasClient.ConnectAsync(address, options);
        var gauss = await client.GetModelAsync("gaussian1d");
        Assert.Equal(-0.5 * Math.Log(2 * Math.PI), await gauss.LogDensityAsync([0.0]), 12);

        var anonymous = new MaasClientOptions();
        anonymous.Transports.Add(new HttpTransport());
        var refused = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(address, anonymous));
        Assert.Equal(MaasErrorCode.Unauthenticated, refused.Code);
        await app.StopAsync();
    }

    /// <summary>An ASP.NET Core authentication handler of the application's own (not MaaS's): one bearer key.</summary>
    private sealed class BearerKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            string header = Request.Headers.Authorization.ToString();
            if (header.Length == 0)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            if (header != "Bearer " + Key)
            {
                return Task.FromResult(AuthenticateResult.Fail("wrong key"));
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "test-user")], Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}
