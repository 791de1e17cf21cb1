using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Core.Tests;

public sealed class InProcessProtocolSpecTests : ProtocolSpecConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new InProcessTransport()];

    protected override string NewListenUri() => $"inproc://spec-{Guid.NewGuid():N}";
}
