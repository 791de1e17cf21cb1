using Demos.Maas.Tests;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Shm.Tests;

internal static class ShmUris
{
    /// <summary>A fresh rendezvous socket in the temp folder.</summary>
    public static string New(string prefix = "maas-shm") => $"shm://{Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}.sock")}";
}

public sealed class ShmConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new ShmTransport()];

    protected override string NewListenUri() => ShmUris.New();

    protected override string? ResumingThreadName => "maas shm receive";
}

/// <summary>The whole suite again with 4 KiB rings: nearly every frame is larger than its ring and is streamed through it in pieces.</summary>
public sealed class ShmSmallRingConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new ShmTransport(new ShmTransportOptions { RingSize = 4096 })];

    protected override string NewListenUri() => ShmUris.New();

    protected override string? ResumingThreadName => "maas shm receive";
}

/// <summary>No spinning: every wait sleeps on the futex at once, so the sleeping and waking paths carry the suite.</summary>
public sealed class ShmNoSpinConformanceTests : FramedTransportConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new ShmTransport(new ShmTransportOptions { RingSize = 8192, SpinTime = TimeSpan.Zero })];

    protected override string NewListenUri() => ShmUris.New();

    protected override string? ResumingThreadName => "maas shm receive";
}

public sealed class ShmProtocolSpecTests : ProtocolSpecConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new ShmTransport()];

    protected override string NewListenUri() => ShmUris.New("maas-shm-spec");
}

public sealed class ShmSecurityTests : SecurityConformanceTests
{
    protected override IMaasTransport[] Transports { get; } = [new ShmTransport()];

    protected override string NewListenUri() => ShmUris.New("maas-shm-sec");
}
