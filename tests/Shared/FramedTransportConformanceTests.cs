using Demos.Maas.Protocol;
using Demos.Maas.Transport;

namespace Demos.Maas.Tests;

/// <summary>
/// What byte-stream transports must show beyond <see cref="TransportConformanceTests"/>: a raw peer
/// that writes frames by hand (oversized, garbage, too many at once) gets the protocol's answers.
/// </summary>
public abstract class FramedTransportConformanceTests : TransportConformanceTests
{
    [Fact]
    public async Task A_peer_that_sends_an_oversized_request_anyway_is_answered_and_may_go_on()
    {
        await using var h = await StartAsync(o => o.MaxFrameBytes = 64 * 1024);
        using var big = DoubleMatrix.Zeros(20_000, 1);
        await using var raw = await RawConnection.OpenAsync(Framed(h), h.Uri, handshake: true);
        await raw.SendAsync(new MaasRequest { Id = 5, Operation = Operation.LogDensity, Model = "gaussian1d", X = big });
        var error = Assert.IsType<ErrorMessage>(await raw.ReceiveAsync());
        Assert.Equal(5u, error.Id);
        Assert.Equal(MaasErrorCode.ResourceExhausted, error.Code);
        using var one = DoubleMatrix.FromPoint(0);
        await raw.SendAsync(new MaasRequest { Id = 6, Operation = Operation.LogDensity, Model = "gaussian1d", X = one });
        var ok = Assert.IsType<MaasResponse>(await raw.ReceiveAsync());
        Assert.Equal(6u, ok.Id);
    }

    [Fact]
    public async Task Garbage_after_the_handshake_closes_the_connection_with_ProtocolError()
    {
        await using var h = await StartAsync();
        await using var raw = await RawConnection.OpenAsync(Framed(h), h.Uri, handshake: true);
        await raw.WriteAsync(new byte[] { 5, 0, 0, 0, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1 });
        var messages = await raw.ReadToEndAsync();
        var error = Assert.IsType<ErrorMessage>(Assert.Single(messages));
        Assert.Equal(MaasErrorCode.ProtocolError, error.Code);

        // The server itself is fine.
        var gauss = await h.Client.GetModelAsync("gaussian1d");
        Assert.Equal(-0.5 * Math.Log(2 * Math.PI), await gauss.LogDensityAsync([0.0]), 12);
    }

    [Fact]
    public async Task Too_many_requests_in_flight_get_ResourceExhausted()
    {
        await using var h = await StartAsync(o => { o.MaxInFlightPerConnection = 2; o.DrainTimeout = TimeSpan.FromMilliseconds(100); });
        await using var raw = await RawConnection.OpenAsync(Framed(h), h.Uri, handshake: true);
        using var one = DoubleMatrix.FromPoint(0);
        for (uint id = 1; id <= 3; id++)
        {
            await raw.SendAsync(new MaasRequest { Id = id, Operation = Operation.LogDensity, Model = "blocking", X = one });
        }

        var error = Assert.IsType<ErrorMessage>(await raw.ReceiveAsync());
        Assert.Equal(3u, error.Id);
        Assert.Equal(MaasErrorCode.ResourceExhausted, error.Code);
    }

    private static IMaasConnectionFactory Framed(Harness h) =>
        h.Transports.OfType<IMaasConnectionFactory>().First(t => t.CanHandle(h.Uri));
}
