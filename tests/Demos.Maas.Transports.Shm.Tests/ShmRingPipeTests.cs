using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Demos.Maas.Transport;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Transports.Shm.Tests;

/// <summary>
/// The connection's reader and writer, which work in the rings themselves: bytes arrive intact and in
/// order whatever the sizes of writes, flushes and reads, frames larger than the ring included, and
/// every misuse gets a clear exception.
/// </summary>
public sealed class ShmRingPipeTests
{
    private static byte At(long i) => (byte)((i * 2654435761L) >> 11);

    private static async Task<(MaasConnection Client, MaasConnection Server, IMaasListener Listener)> ConnectAsync(int ringSize = 4096)
    {
        var transport = new ShmTransport(new ShmTransportOptions { RingSize = ringSize });
        var uri = new Uri(ShmUris.New("maas-shm-pipe"));
        var listener = await transport.BindAsync(uri);
        var accept = listener.AcceptAsync().AsTask();
        var client = await transport.ConnectAsync(uri);
        var server = await accept.WaitAsync(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException("The listener closed.");
        return (client, server, listener);
    }

    /// <summary>
    /// The writer asks for random sizes (up to twice the 4 KiB ring), writes part of each and flushes
    /// at random; the reader waits for random "frames" (up to three rings long) as a frame reader
    /// does, examining everything and consuming nothing until a frame is whole.
    /// </summary>
    [Property(MaxTest = 25)]
    public bool Random_writes_flushes_and_frame_sized_reads_pass_the_bytes_intact_and_in_order(PositiveInt[] hints, PositiveInt[] frames, int seed)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var (client, server, listener) = await ConnectAsync();
            await using var _ = listener;
            await using var serverSide = server;
            const int total = 200_000;
            var writer = Task.Run(async () =>
            {
                await using var clientSide = client;
                var output = client.Transport.Output;
                var random = new Random(seed);
                long written = 0;
                int turn = 0;
                while (written < total)
                {
                    int hint = hints.Length == 0 ? 0 : hints[turn++ % hints.Length].Get % 8192;
                    var memory = output.GetMemory(hint);
                    if (memory.Length < hint)
                    {
                        throw new InvalidOperationException($"Asked for {hint} bytes, got {memory.Length}.");
                    }

                    int n = (int)Math.Min(total - written, 1 + random.Next(Math.Min(memory.Length, 10_000)));
                    for (int i = 0; i < n; i++)
                    {
                        memory.Span[i] = At(written + i);
                    }

                    output.Advance(n);
                    written += n;
                    if (random.Next(3) == 0)
                    {
                        await output.FlushAsync();
                    }
                }

                await output.FlushAsync();
            });

            var input = server.Transport.Input;
            long position = 0;
            long mismatches = 0;
            int frame = 0;
            while (true)
            {
                long want = frames.Length == 0 ? 100 : 1 + (frames[frame % frames.Length].Get % 12_288);
                var result = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                var buffer = result.Buffer;
                if (buffer.Length < want && !result.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                var take = buffer.Slice(0, Math.Min(want, buffer.Length));
                foreach (var segment in take)
                {
                    for (int i = 0; i < segment.Length; i++)
                    {
                        mismatches += segment.Span[i] == At(position + i) ? 0 : 1;
                    }

                    position += segment.Length;
                }

                frame++;
                input.AdvanceTo(take.End);
                if (result.IsCompleted && take.Length == buffer.Length)
                {
                    break;
                }
            }

            await writer;
            return mismatches == 0 && position == total;
        }
    }

    [Fact]
    public async Task A_frame_four_times_the_ring_is_read_whole_when_the_reader_waits_for_all_of_it()
    {
        var (client, server, listener) = await ConnectAsync();
        await using var _ = listener;
        await using var clientSide = client;
        await using var serverSide = server;
        const int frame = 4 * 4096 + 123;
        var data = Enumerable.Range(0, frame).Select(i => At(i)).ToArray();
        var send = client.Transport.Output.WriteAsync(data).AsTask();

        var input = server.Transport.Input;
        ReadResult result;
        while (true)
        {
            result = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (result.Buffer.Length >= frame)
            {
                break;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        Assert.Equal(data, result.Buffer.Slice(0, frame).ToArray());
        input.AdvanceTo(result.Buffer.GetPosition(frame));
        await send.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// The writer remembers how far the reader had read and looks again only when that leaves too
    /// little room: once the reader has emptied a full ring, the next frame is written in the ring
    /// again (ring memory is not an array), not into the spill the writer uses while the ring is full.
    /// </summary>
    [Fact]
    public async Task Once_the_reader_empties_a_full_ring_the_writer_writes_in_the_ring_again()
    {
        var (client, server, listener) = await ConnectAsync();
        await using var _ = listener;
        await using var clientSide = client;
        await using var serverSide = server;
        var output = client.Transport.Output;
        var data = Enumerable.Range(0, 4096).Select(i => At(i)).ToArray();
        var inRing = output.GetMemory(4096);
        Assert.True(IsRingMemory(inRing), "an empty ring hands out ring memory");
        data.CopyTo(inRing);
        output.Advance(4096);
        await output.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        // Full: what is written now goes to the spill, an array.
        Assert.False(IsRingMemory(output.GetMemory(1)), "a full ring spills");

        var input = server.Transport.Input;
        long read = 0;
        while (read < 4096)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(data.AsSpan((int)read, (int)result.Buffer.Length).ToArray(), result.Buffer.ToArray());
            read += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
        }

        // Nothing was advanced into the spill, so the flush publishes nothing and the next write starts over.
        await output.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var again = output.GetMemory(100);
        Assert.True(IsRingMemory(again), "the emptied ring hands out ring memory again");
        data.AsSpan(0, 100).CopyTo(again.Span);
        output.Advance(100);
        await output.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var last = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(data.AsSpan(0, 100).ToArray(), last.Buffer.Slice(0, 100).ToArray());
        input.AdvanceTo(last.Buffer.End);

        // The ring's memory comes from a memory manager over the mapping; the spill is pooled arrays.
        static bool IsRingMemory(Memory<byte> memory) => !MemoryMarshal.TryGetArray<byte>(memory, out var _);
    }

    [Fact]
    public async Task Misused_reader_and_writer_throw_clear_exceptions()
    {
        var (client, server, listener) = await ConnectAsync();
        await using var _ = listener;
        await using var clientSide = client;
        await using var serverSide = server;
        var input = server.Transport.Input;
        var output = client.Transport.Output;

        Assert.Contains("without a read", Assert.Throws<InvalidOperationException>(() => input.AdvanceTo(default)).Message);

        await output.WriteAsync(new byte[] { 1, 2, 3 });
        var result = await input.ReadAsync();
        Assert.Contains("already in progress", (await Assert.ThrowsAsync<InvalidOperationException>(() => input.ReadAsync().AsTask())).Message);
        var foreign = new ReadOnlySequence<byte>(new byte[3]);
        Assert.Throws<ArgumentException>(() => input.AdvanceTo(foreign.End));
        Assert.Throws<ArgumentOutOfRangeException>(() => input.AdvanceTo(result.Buffer.End, result.Buffer.Start));
        input.AdvanceTo(result.Buffer.End);

        // A waiting read: cancelled by CancelPendingRead, then by its token.
        var waiting = input.ReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        input.CancelPendingRead();
        var canceled = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(canceled.IsCanceled);
        input.AdvanceTo(canceled.Buffer.End);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => input.ReadAsync(timeout.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => input.ReadAsync(timeout.Token).AsTask());

        var memory = output.GetMemory(16);
        Assert.Throws<ArgumentOutOfRangeException>(() => output.Advance(memory.Length + 1));
        output.Advance(0);

        await output.CompleteAsync();
        Assert.Contains("after the writer was completed", Assert.Throws<InvalidOperationException>(() => output.GetMemory()).Message);
        input.Complete();
        Assert.Contains("after the reader was completed", (await Assert.ThrowsAsync<InvalidOperationException>(() => input.ReadAsync().AsTask())).Message);
    }

    [Fact]
    public async Task An_abort_fails_the_waiting_read_and_the_peer_sees_the_end_after_the_bytes_flushed_before_it()
    {
        var (client, server, listener) = await ConnectAsync();
        await using var _ = listener;
        await using var clientSide = client;
        await using var serverSide = server;

        var waiting = server.Transport.Input.ReadAsync().AsTask();
        await server.Transport.Output.WriteAsync(new byte[] { 7, 8, 9 });
        server.Abort();
        await Assert.ThrowsAsync<IOException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));

        var input = client.Transport.Input;
        var bytes = new List<byte>();
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            bytes.AddRange(result.Buffer.ToArray());
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal([7, 8, 9], bytes);
        await Assert.ThrowsAsync<IOException>(() => client.Transport.Output.WriteAsync(new byte[] { 1 }).AsTask());
    }
}
