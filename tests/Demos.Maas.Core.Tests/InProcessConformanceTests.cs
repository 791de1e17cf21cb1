using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Core.Tests;

public sealed class InProcessConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new InProcessTransport()];

    protected override string NewListenUri() => $"inproc://conformance-{Guid.NewGuid():N}";
}
