using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Tests;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Transports.Tcp.Tests;

public sealed class TcpConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new TcpTransport()];

    protected override string NewListenUri() => "tcp://127.0.0.1:0";

    protected override string? ResumingThreadName => "maas socket receive";
}

public sealed class TcpIpv6ConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new TcpTransport()];

    protected override string NewListenUri() => "tcp://[::1]:0";

    protected override string? ResumingThreadName => "maas socket receive";
}

public sealed class TcpTransportTests
{
    [Fact]
    public async Task Port_zero_binds_a_free_port_that_clients_reach()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        Assert.NotEqual(0, uri.Port);
        await using var client = await MaasClient.ConnectAsync(uri, Options());
        var model = await client.GetModelAsync("gaussian1d");
        Assert.Equal(GaussianModel.LogDensityOf([0.5], [0.0], [1.0]), await model.LogDensityAsync([0.5]), 12);
    }

    [Fact]
    public async Task Refused_and_malformed_addresses_give_clear_errors()
    {
        // Bind and release a port so that nothing listens on it.
        await using (var probe = new MaasServer(transports: [new TcpTransport()]))
        {
            var free = await probe.ListenAsync("tcp://127.0.0.1:0");
            await probe.StopAsync(CancellationToken.None);
            var refused = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(free, Options()));
            Assert.Equal(MaasErrorCode.Unavailable, refused.Code);
        }

        var noPort = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync("tcp://127.0.0.1", Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, noPort.Code);
        var notUri = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync("not a uri", Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, notUri.Code);
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        var host = await Assert.ThrowsAsync<MaasException>(() => server.ListenAsync("tcp://example.invalid:0"));
        Assert.Equal(MaasErrorCode.InvalidArgument, host.Code);
    }

    [Fact]
    public async Task A_batch_of_65536_points_makes_one_round_trip_with_exact_results()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var client = await MaasClient.ConnectAsync(uri, Options());
        var model = await client.GetModelAsync("gaussian1d");
        using var x = DoubleMatrix.Rent(65536, 1);
        for (int i = 0; i < x.Rows; i++)
        {
            x[i, 0] = (i - 32768) / 4096.0;
        }

        using var logp = await model.LogDensityAsync(x);
        Assert.Equal(65536, logp.Rows);
        for (int i = 0; i < x.Rows; i += 997)
        {
            Assert.Equal(GaussianModel.LogDensityOf([x[i, 0]], [0.0], [1.0]), logp[i, 0], 12);
        }
    }

    private static MaasClientOptions Options()
    {
        var options = new MaasClientOptions();
        options.Transports.Add(new TcpTransport());
        return options;
    }
}

public sealed class TcpSecurityTests : SecurityConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new TcpTransport()];

    protected override string NewListenUri() => "tcp://127.0.0.1:0";
}

/// <summary>The conformance suite over tls:// with certificates made in the test.</summary>
public sealed class TlsConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new TcpTransport(TestCertificates.Server()), new TlsClientOnly(new TcpTransport(TestCertificates.Client()))];

    protected override string NewListenUri() => "tls://127.0.0.1:0";
}

/// <summary>Keys, roles, the audit log and rate limits over tls://.</summary>
public sealed class TlsSecurityTests : SecurityConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new TcpTransport(TestCertificates.Server())];

    protected override IMaasTransport[] ClientTransports { get; } = [new TcpTransport(TestCertificates.Client())];

    protected override string NewListenUri() => "tls://127.0.0.1:0";
}

/// <summary>The client role of a transport only, so a server and a client with different TLS settings can share one transport list.</summary>
internal sealed class TlsClientOnly(TcpTransport inner) : IMaasConnectionFactory
{
    public bool CanHandle(Uri uri) => inner.CanHandle(uri);

    public ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default) => inner.ConnectAsync(uri, cancellationToken);
}
