using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Pipe.Tests;

public sealed class PipeProtocolSpecTests : ProtocolSpecConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new PipeTransport()];

    protected override string NewListenUri() => $"pipe://{Path.Combine(Path.GetTempPath(), $"maas-spec-{Guid.NewGuid():N}.sock")}";
}
