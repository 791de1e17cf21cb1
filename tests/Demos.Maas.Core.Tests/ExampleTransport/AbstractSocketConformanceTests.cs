using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Core.Tests.ExampleTransport;

/// <summary>Step 7 of "How to add a transport": the shared conformance suite, over the new transport.</summary>
public sealed class AbstractSocketConformanceTests : FramedTransportConformanceTests
{
    // Step 6: the one registration line.
    protected override IMaasTransport[] Transports { get; } = [new AbstractSocketTransport()];

    protected override string NewListenUri() => $"abstract://{Guid.NewGuid():N}";
}
