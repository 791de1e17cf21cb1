using System.Buffers;
using System.IO.Pipelines;
using Demos.Maas.Protocol;

namespace Demos.Maas.Transports.Pipe.Tests;

/// <summary>
/// The output of a pipe:// (and tcp://) connection: written bytes and borrowed memory go to the
/// socket in order when flushed, at once while it takes them and asynchronously once it is full.
/// </summary>
public sealed class SocketSendTests
{
    private static readonly TimeSpan Deadline = SocketReceiveTests.Deadline;

    [Fact]
    public async Task Written_and_borrowed_bytes_arrive_in_order_also_when_the_socket_is_full()
    {
        await using var pair = await SocketReceiveTests.ConnectedPair.OpenAsync();
        var output = pair.Client.Transport.Output;
        var borrowing = Assert.IsAssignableFrom<IBorrowingWriter>(output);

        for (int round = 0; round < 3; round++)
        {
            byte[] head = SocketReceiveTests.Pattern(100, seed: round);
            byte[] big = SocketReceiveTests.Pattern(3 * 1024 * 1024, seed: 10 + round);
            byte[] tail = SocketReceiveTests.Pattern(150_000, seed: 20 + round);
            output.Write(head);
            borrowing.WriteBorrowed(big);
            output.Write(tail);
            long total = head.Length + big.Length + tail.Length;
            Assert.True(borrowing.HoldsBorrowedMemory);
            Assert.Equal(total, output.UnflushedBytes);

            // 3 MiB do not fit the socket: the flush waits for the reader below.
            var flushing = output.FlushAsync().AsTask();
            var received = await ReadAsync(pair.Server.Transport.Input, total);
            await flushing.WaitAsync(Deadline);

            Assert.Equal(head.Concat(big).Concat(tail).ToArray(), received);
            Assert.False(borrowing.HoldsBorrowedMemory);
            Assert.Equal(0, output.UnflushedBytes);
        }
    }

    [Fact]
    public async Task Memory_written_in_many_small_pieces_arrives_whole_and_an_empty_flush_sends_nothing()
    {
        await using var pair = await SocketReceiveTests.ConnectedPair.OpenAsync();
        var output = pair.Client.Transport.Output;
        await output.FlushAsync().AsTask().WaitAsync(Deadline);

        byte[] sent = SocketReceiveTests.Pattern(200_000, seed: 3);
        for (int at = 0; at < sent.Length; at += 999)
        {
            var piece = sent.AsSpan(at, Math.Min(999, sent.Length - at));
            piece.CopyTo(output.GetSpan(piece.Length));
            output.Advance(piece.Length);
        }

        await output.FlushAsync().AsTask().WaitAsync(Deadline);
        Assert.Equal(sent, await ReadAsync(pair.Server.Transport.Input, sent.Length));
    }

    [Fact]
    public async Task Misuse_of_the_writer_gives_the_errors_a_pipe_writer_gives()
    {
        await using var pair = await SocketReceiveTests.ConnectedPair.OpenAsync();
        var output = pair.Client.Transport.Output;
        var memory = output.GetMemory(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => output.Advance(memory.Length + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => output.Advance(-1));

        await output.CompleteAsync();
        Assert.Throws<InvalidOperationException>(() => output.GetMemory());
        Assert.Throws<InvalidOperationException>(() => ((IBorrowingWriter)output).WriteBorrowed(new byte[10]));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await output.FlushAsync());
    }

    [Fact]
    public async Task A_flush_to_a_peer_that_went_away_fails_with_IOException()
    {
        await using var pair = await SocketReceiveTests.ConnectedPair.OpenAsync();
        pair.Server.Abort();
        var output = pair.Client.Transport.Output;
        byte[] big = SocketReceiveTests.Pattern(1024 * 1024, seed: 4);
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            // The first flush may still fit the socket's buffer; later ones find the peer gone.
            for (int i = 0; i < 50; i++)
            {
                ((IBorrowingWriter)output).WriteBorrowed(big);
                await output.FlushAsync().AsTask().WaitAsync(Deadline);
            }
        });
        Assert.False(((IBorrowingWriter)output).HoldsBorrowedMemory);
    }

    private static async Task<byte[]> ReadAsync(PipeReader input, long count)
    {
        var received = new List<byte>();
        while (received.Count < count)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Deadline);
            received.AddRange(result.Buffer.ToArray());
            input.AdvanceTo(result.Buffer.End);
            Assert.False(result.IsCompleted && received.Count < count, "the stream ended early");
        }

        return [.. received];
    }
}
