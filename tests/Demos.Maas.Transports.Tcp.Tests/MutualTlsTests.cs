using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Security;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Tcp.Tests;

/// <summary>A TLS client certificate as the caller's identity, and a client that does not trust the server.</summary>
public sealed class MutualTlsTests
{
    [Fact]
    public async Task A_client_certificate_is_an_identity_and_a_server_the_client_does_not_trust_is_refused()
    {
        var (_, adminKey) = ApiKeys.Create("admin-1", ["admin"]);
        var security = new MaasSecurityOptions { Keys = [adminKey] };
        security.Certificates["CN=fitter"] = ["reader"];
        await using var server = new MaasServer(new MaasServerOptions { Security = security }, [new TcpTransport(TestCertificates.Server())]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("tls://127.0.0.1:0");

        // With the certificate and no key: the subject CN=fitter maps to the reader role.
        await using (var fitter = await MaasClient.ConnectAsync(uri, Options(new TcpTransport(TestCertificates.Client(withCertificate: true)))))
        {
            var gauss = await fitter.GetModelAsync("gaussian1d");
            Assert.Equal(-0.5 * Math.Log(2 * Math.PI), await gauss.LogDensityAsync([0.0]), 12);
            var denied = await Assert.ThrowsAsync<MaasException>(async () => await gauss.UpdateParametersAsync(ParameterUpdate.Of("mu", 1.0)));
            Assert.Equal(MaasErrorCode.PermissionDenied, denied.Code);
        }

        // Without certificate or key: refused.
        var anonymous = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(uri, Options(new TcpTransport(TestCertificates.Client()))));
        Assert.Equal(MaasErrorCode.Unauthenticated, anonymous.Code);

        // A client that trusts the system's CAs only does not accept the test CA's server certificate.
        var untrusted = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(uri, Options(new TcpTransport())));
        Assert.Equal(MaasErrorCode.Unavailable, untrusted.Code);
        Assert.Contains("TLS", untrusted.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_requires_client_certificates_refuses_a_client_without_one()
    {
        await using var server = new MaasServer(new MaasServerOptions(), [new TcpTransport(TestCertificates.Server(requireClientCertificate: true))]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("tls://127.0.0.1:0");
        await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(uri, Options(new TcpTransport(TestCertificates.Client()))));
        await using var client = await MaasClient.ConnectAsync(uri, Options(new TcpTransport(TestCertificates.Client(withCertificate: true))));
        Assert.Single(await client.ListModelsAsync());
    }

    private static MaasClientOptions Options(TcpTransport transport)
    {
        var options = new MaasClientOptions { Reconnect = false, Retry = null, ConnectTimeout = TimeSpan.FromSeconds(20) };
        options.Transports.Add(transport);
        return options;
    }
}
