using System.Buffers;
using System.Text;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Tests;

namespace Demos.Maas.Transports.Tcp.Tests;

/// <summary>Every request ends with exactly one final message, and client mistakes are the client's.</summary>
public sealed class OneOutcomeTests
{
    [Fact]
    public async Task An_error_larger_than_the_clients_frame_limit_arrives_shortened()
    {
        var model = ModelBuilder.Create("wordy").WithInputDimension(1)
            .WithLogDensity((a, result) => throw new InvalidOperationException(new string('x', 100_000)))
            .Build();
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        server.AddModel(model);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: false);
        await raw.SendAsync(new HelloMessage { Agent = "raw", MaxFrameBytes = 512 });
        Assert.IsType<WelcomeMessage>(await raw.ReceiveAsync());
        await raw.SendAsync(new MaasRequest { Id = 3, Operation = Operation.LogDensity, Model = "wordy", X = DoubleMatrix.FromPoint(1.0) });
        var error = Assert.IsType<ErrorMessage>(await raw.ReceiveAsync());
        Assert.Equal(3u, error.Id);
        Assert.Equal(MaasErrorCode.ModelError, error.Code);
        Assert.InRange(error.Message.Length, 1, 511);
    }

    [Fact]
    public async Task A_Welcome_that_does_not_fit_the_clients_frame_limit_closes_with_a_reason()
    {
        await using var server = new MaasServer(transports: [new TcpTransport()]);
        var uri = await server.ListenAsync("tcp://127.0.0.1:0");
        await using var raw = await RawConnection.OpenAsync(new TcpTransport(), uri, handshake: false);
        await raw.SendAsync(new HelloMessage { Agent = "raw", MaxFrameBytes = 40 });
        var messages = await raw.ReadToEndAsync();
        var error = Assert.IsType<ErrorMessage>(Assert.Single(messages));
        Assert.Equal(0u, error.Id);
        Assert.Equal(MaasErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public void Invalid_UTF8_in_a_JSON_string_is_an_invalid_argument()
    {
        var body = Encoding.UTF8.GetBytes("{\"dataset\": \"ab\"}");
        body[14] = 0xFF;
        var request = new MaasRequest();
        var error = Assert.Throws<MaasException>(() => MaasJson.ReadRequest(new ReadOnlySequence<byte>(body), request));
        Assert.True(error.Code is MaasErrorCode.InvalidArgument or MaasErrorCode.ProtocolError, $"{error.Code}: {error.Message}");
    }

    [Fact]
    public void Shortening_an_error_keeps_id_and_code_and_ends()
    {
        var error = new ErrorMessage { Id = 9, Code = MaasErrorCode.ModelError, Message = "ab\U0001F600cd", Details = new Dictionary<string, string> { ["k"] = "v" } };
        int steps = 0;
        for (var e = FrameChannel.Shorten(error); e is not null; e = FrameChannel.Shorten(e))
        {
            Assert.Equal(9u, e.Id);
            Assert.Equal(MaasErrorCode.ModelError, e.Code);
            Assert.Null(e.Details);
            Assert.False(e.Message.Length > 0 && char.IsHighSurrogate(e.Message[^1]));
            Assert.True(++steps < 10);
        }
    }
}
