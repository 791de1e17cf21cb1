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
