using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>The transport conformance suite with MaasClient over http:// (each call one REST request).</summary>
public sealed class HttpConformanceTests : TransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new HttpTransport()];

    protected override string NewListenUri() => "http://127.0.0.1:0";
}

/// <summary>The same over HTTP/2 (cleartext, prior knowledge).</summary>
public sealed class Http2ConformanceTests : TransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new HttpTransport(new HttpTransportOptions { HttpVersion = System.Net.HttpVersion.Version20 })];

    protected override string NewListenUri() => "http://127.0.0.1:0/?http=2";
}

/// <summary>The same over Kestrel on a Unix domain socket.</summary>
public sealed class HttpUnixConformanceTests : TransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new HttpTransport()];

    protected override string NewListenUri() => $"http+unix://{Path.Combine(Path.GetTempPath(), $"maas-http-{Guid.NewGuid():N}.sock")}";
}

/// <summary>Keys, roles, the audit log and rate limits over http://, through ASP.NET Core's authentication.</summary>
public sealed class HttpSecurityTests : SecurityConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new HttpTransport()];

    protected override string NewListenUri() => "http://127.0.0.1:0";
}

/// <summary>The conformance suite over https:// (HTTP/1.1 and HTTP/2 by ALPN) with certificates made in the test.</summary>
public sealed class HttpsConformanceTests : TransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new HttpTransport(new HttpTransportOptions { Tls = TestCertificates.Server() }), new HttpsClientOnly(new HttpTransport(new HttpTransportOptions { Tls = TestCertificates.Client() }))];

    protected override string NewListenUri() => "https://127.0.0.1:0";
}

/// <summary>Keys, roles, the audit log and rate limits over https://.</summary>
public sealed class HttpsSecurityTests : SecurityConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new HttpTransport(new HttpTransportOptions { Tls = TestCertificates.Server() })];

    protected override IMaasTransport[] ClientTransports { get; } = [new HttpTransport(new HttpTransportOptions { Tls = TestCertificates.Client() })];

    protected override string NewListenUri() => "https://127.0.0.1:0";
}

/// <summary>The client role of an HTTP transport only (the server's transport presents the certificate, the client's trusts the CA).</summary>
internal sealed class HttpsClientOnly(HttpTransport inner) : IMaasCallInvokerFactory
{
    public bool CanHandle(Uri uri) => inner.CanHandle(uri);

    public ValueTask<Client.MaasCallInvoker> ConnectAsync(Uri uri, Client.MaasClientOptions options, CancellationToken cancellationToken = default) => inner.ConnectAsync(uri, options, cancellationToken);
}
