using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Core.Tests;

public sealed class InProcessSecurityTests : SecurityConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new InProcessTransport()];

    protected override string NewListenUri() => $"inproc://secure-{Guid.NewGuid():N}";
}
