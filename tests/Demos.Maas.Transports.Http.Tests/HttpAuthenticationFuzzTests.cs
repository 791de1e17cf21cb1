using System.Net;
using Demos.Maas.Models;
using Demos.Maas.Security;
using Demos.Maas.Server;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>Arbitrary Authorization headers against a keyed HTTP server: never a success, never a server error.</summary>
public sealed class HttpAuthenticationFuzzTests
{
    [Fact]
    public async Task Arbitrary_authorization_headers_get_401_and_nothing_else()
    {
        var (secret, key) = ApiKeys.Create("admin-1", ["admin"]);
        await using var server = new MaasServer(new MaasServerOptions { Security = new MaasSecurityOptions { Keys = [key] } }, [new HttpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("http://127.0.0.1:0");
        using var http = new HttpClient { BaseAddress = uri };
        var random = new Random(20261202);
        var headers = Enumerable.Range(0, 400).Select(i => i switch
        {
            < 100 => "Bearer " + new string([.. Enumerable.Range(0, random.Next(0, 90)).Select(_ => (char)random.Next(33, 127))]),
            < 200 => "Bearer " + MutateOneCharacter(secret, random),
            < 300 => "Bearer maas_admin-1." + new string([.. Enumerable.Range(0, random.Next(0, 60)).Select(_ => (char)random.Next(33, 127))]),
            _ => new string([.. Enumerable.Range(0, random.Next(1, 60)).Select(_ => (char)random.Next(33, 127))]),
        });
        foreach (var header in headers.Where(h => h != "Bearer " + secret))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
            request.Headers.TryAddWithoutValidation("Authorization", header);
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"'{header}' got {(int)response.StatusCode}");
        }

        using var good = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        good.Headers.TryAddWithoutValidation("Authorization", "Bearer " + secret);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(good)).StatusCode);
    }

    private static string MutateOneCharacter(string secret, Random random)
    {
        int at = random.Next(secret.Length);
        char replacement = (char)random.Next(33, 127);
        return secret[..at] + (replacement == secret[at] ? (char)(replacement ^ 1) : replacement) + secret[(at + 1)..];
    }
}
