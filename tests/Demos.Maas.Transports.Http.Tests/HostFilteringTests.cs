using System.Security.Claims;
using Demos.Maas.Server;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>
/// The host's Host filter (against DNS rebinding) remembers the last Host it let through; that
/// must never let another value through, whatever came before on the connection.
/// </summary>
public sealed class HostFilteringTests
{
    [Fact]
    public async Task Only_the_remembered_host_itself_skips_the_filter()
    {
        await using var f = await HttpServerFixture.StartAsync();
        string own = $"127.0.0.1:{f.Uri.Port}";
        (string Host, int Status)[] requests =
        [
            (own, 200), ("attacker.example", 400), (own, 200), ($"attacker.example:{f.Uri.Port}", 400),
            ($"127.0.0.1.attacker.example:{f.Uri.Port}", 400), ("LOCALHOST", 200), ("localhost.attacker.example", 400),
            ("127.0.0.2", 400), ($"[::1]:{f.Uri.Port}", 200), (own, 200), ("attacker.example", 400),
        ];
        foreach (var (host, status) in requests)
        {
            Assert.Equal(status, (await f.JsonAsync(HttpMethod.Get, "/v1/models", null, r => r.Headers.Host = host)).Status);
        }

        // UM-Bridge's /Evaluate, whose usual request takes a short path, is behind the same filter.
        const string evaluate = """{"name": "gaussian1d", "input": [[0.5]], "config": {}}""";
        Assert.Equal(200, (await f.JsonAsync(HttpMethod.Post, "/Evaluate", evaluate, r => r.Headers.Host = own)).Status);
        Assert.Equal(400, (await f.JsonAsync(HttpMethod.Post, "/Evaluate", evaluate, r => r.Headers.Host = "attacker.example")).Status);
    }

    [Fact]
    public async Task The_filter_lets_through_exactly_what_aspnetcores_filter_does()
    {
        var services = new ServiceCollection();
        services.AddOptions();
        services.Configure<HostFilteringOptions>(o =>
        {
            o.AllowedHosts = ["localhost", "*.example.org"];
            o.AllowEmptyHosts = false;
            o.IncludeFailureMessage = false;
        });
        using var provider = services.BuildServiceProvider();
        int passed = 0;
        var filter = new RememberingHostFilter(_ => { passed++; return Task.CompletedTask; }, NullLoggerFactory.Instance, provider.GetRequiredService<IOptionsMonitor<HostFilteringOptions>>());

        // After each value the filter let through, every other request is still judged by the filter.
        string?[][] hosts =
        [
            ["a.example.org"], ["b.example.org"], ["a.example.org"], ["example.org"], ["evil.example"], [""], [null!],
            ["a.example.org", "evil.example"], ["localhost:80"], ["LOCALHOST:80"], ["evil.example"], ["a.example.org"],
        ];
        bool[] expected = [true, true, true, false, false, false, false, false, true, true, false, true];
        for (int i = 0; i < hosts.Length; i++)
        {
            var context = new DefaultHttpContext();
            context.Request.Protocol = "HTTP/1.1";
            if (hosts[i] is [not null, ..] values)
            {
                context.Request.Headers.Host = new Microsoft.Extensions.Primitives.StringValues(values);
            }

            int before = passed;
            await filter.InvokeAsync(context);
            Assert.Equal(expected[i], passed == before + 1);
            Assert.Equal(expected[i] ? 200 : 400, context.Response.StatusCode);
        }
    }

    [Fact]
    public async Task The_web_hosts_own_host_filter_is_left_out_so_each_request_is_checked_once()
    {
        await using var server = new MaasServer();
        await using var host = await MaasHttpHost.StartAsync(server, new Uri("http://127.0.0.1:0"));
        var startupFilters = host.Services.GetServices<IStartupFilter>().Select(s => s.GetType().Name).ToList();
        Assert.DoesNotContain("HostFilteringStartupFilter", startupFilters);

        // The filter in its place refuses a foreign Host.
        using var http = new HttpClient { BaseAddress = host.Uri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Host = "attacker.example";
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public void A_caller_without_a_principal_has_none_and_one_with_a_principal_keeps_it()
    {
        var anonymous = new DefaultHttpContext();
        anonymous.Request.Headers.Authorization = "Bearer k1";
        var caller = RestEndpoints.Caller(anonymous);
        Assert.Null(caller.User);
        Assert.Equal("k1", caller.Credentials);
        Assert.Null(caller.PeerIdentity);

        // Reading the caller made no principal for the request.
        Assert.Null(anonymous.Features.Get<Microsoft.AspNetCore.Http.Features.Authentication.IHttpAuthenticationFeature>());

        var signedIn = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "ada")], "test")) };
        Assert.Equal("ada", RestEndpoints.Caller(signedIn).User?.Identity?.Name);
        Assert.True(RestEndpoints.Caller(signedIn).User?.Identity?.IsAuthenticated);
    }
}
