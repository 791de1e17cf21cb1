using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Tcp.Tests;

public sealed class TcpProtocolSpecTests : ProtocolSpecConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new TcpTransport()];

    protected override string NewListenUri() => "tcp://127.0.0.1:0";
}
