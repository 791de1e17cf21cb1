using System.Buffers;
using System.IO.Pipelines;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;

namespace Demos.Maas.Tests;

/// <summary>A protocol peer with no client logic: writes any bytes, reads frames as they come.</summary>
internal sealed class RawConnection(MaasConnection connection) : IAsyncDisposable
{
    public static async Task<RawConnection> OpenAsync(IMaasConnectionFactory transport, Uri uri, bool handshake)
    {
        var raw = new RawConnection(await transport.ConnectAsync(uri));
        if (handshake)
        {
            await raw.SendAsync(new HelloMessage { Agent = "raw-test", MaxFrameBytes = 1 << 30 });
            Assert.IsType<WelcomeMessage>(await raw.ReceiveAsync());
        }

        return raw;
    }

    public PipeWriter Output => connection.Transport.Output;

    public async Task SendAsync(MaasMessage message) => await WriteAsync(FrameCodec.EncodeFrame(message));

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        await Output.WriteAsync(bytes);
    }

    /// <summary>The next message, or null at end of stream. Fails the test after 30 s (a hang).</summary>
    public async Task<MaasMessage?> ReceiveAsync()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var input = connection.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync(guard.Token);
            var buffer = result.Buffer;
            if (FrameCodec.TryReadLength(buffer, out uint length) && buffer.Length >= 4 + length)
            {
                var message = MessageCodec.Read(buffer.Slice(4, length));
                input.AdvanceTo(buffer.GetPosition(4 + length));
                return message;
            }

            if (result.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return null;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads until the peer closes; returns the messages seen. Fails after 30 s.</summary>
    public async Task<List<MaasMessage>> ReadToEndAsync()
    {
        var all = new List<MaasMessage>();
        try
        {
            while (await ReceiveAsync() is { } message)
            {
                all.Add(message);
            }
        }
        catch (IOException)
        {
            // Reset by the peer: also an end.
        }

        return all;
    }

    public async ValueTask DisposeAsync() => await connection.DisposeAsync();
}
