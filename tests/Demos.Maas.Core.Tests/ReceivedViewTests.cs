using System.Buffers;
using System.Runtime.InteropServices;
using Demos.Maas.Protocol;
using Demos.Maas.Tests;

namespace Demos.Maas.Core.Tests;

/// <summary>Large matrices decoded as views of the received bytes instead of copies.</summary>
public sealed class ReceivedViewTests
{
    private const int LargeRows = 65_536;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void A_large_matrix_in_a_lent_buffer_is_read_in_place_at_any_byte_offset(int start)
    {
        using var sent = TestMatrices.Random(LargeRows, 2, seed: 1, offset: -0.5);
        var (buffer, payload) = Received(new MaasRequest { Operation = Operation.LogDensity, Model = "m", X = sent }, start);

        var request = (MaasRequest)MessageCodec.Read(payload, newRequest: null, buffer);
        var x = request.X!;
        Assert.True(x.IsView);
        Assert.Equal(2, buffer.References);
        Assert.Equal((LargeRows, 2), (x.Rows, x.Columns));
        Assert.True(sent.Span.SequenceEqual(x.Span));
        Assert.Equal(sent[LargeRows - 1, 1], x[LargeRows - 1, 1]);
        Assert.True(sent.Row(17).SequenceEqual(x.Row(17)));
        Assert.True(sent.Memory.Span.SequenceEqual(x.Memory.Span));

        // In place: the values are the buffer's bytes, not a copy of them.
        int at = IndexOf(buffer.Array, MemoryMarshal.AsBytes(sent.Span[..4]));
        buffer.Array[at] ^= 0xFF;
        Assert.NotEqual(sent.Span[0], x.Span[0]);

        x.Dispose();
        Assert.Equal(1, buffer.References);
        Assert.Throws<ObjectDisposedException>(() => x.Span.Length);
        x.Dispose();
        Assert.Equal(1, buffer.References);
        buffer.Release();
    }

    [Fact]
    public unsafe void Pinning_a_view_pins_the_received_bytes_at_the_requested_element()
    {
        using var sent = TestMatrices.Random(LargeRows, 1, seed: 2, offset: -0.5);
        var (buffer, payload) = Received(new MaasResponse { Y = sent }, start: 5);
        using var y = ((MaasResponse)MessageCodec.Read(payload, newRequest: null, buffer)).Y!;
        Assert.True(y.IsView);

        using (var pin = y.Memory.Pin())
        {
            Assert.Equal(sent.Span[0], *(double*)pin.Pointer);
            int at = IndexOf(buffer.Array, MemoryMarshal.AsBytes(sent.Span[..4]));
            fixed (byte* bytes = buffer.Array)
            {
                Assert.Equal((nint)(bytes + at), (nint)pin.Pointer);
            }
        }

        using (var pin = y.Memory.Slice(100).Pin())
        {
            Assert.Equal(sent.Span[100], *(double*)pin.Pointer);
        }

        buffer.Release();
    }

    [Fact]
    public void Stream_chunks_and_the_vector_of_a_product_are_views_too_and_the_last_view_returns_the_buffer()
    {
        using var rows = TestMatrices.Random(LargeRows, 1, seed: 3, offset: -0.5);
        var (chunkBuffer, chunkPayload) = Received(new StreamChunkMessage { Rows = rows }, start: 0);
        var chunk = (StreamChunkMessage)MessageCodec.Read(chunkPayload, newRequest: null, chunkBuffer);
        Assert.True(chunk.Rows.IsView);
        chunkBuffer.Release();
        Assert.Equal(1, chunkBuffer.References);
        chunk.Rows.Dispose();
        Assert.Equal(0, chunkBuffer.References);

        using var x = TestMatrices.Random(LargeRows, 1, seed: 4, offset: -0.5);
        using var v = TestMatrices.Random(LargeRows, 1, seed: 5, offset: -0.5);
        var (buffer, payload) = Received(new MaasRequest { Operation = Operation.Gradient, GradientKind = GradientKind.EvaluateVjp, Model = "m", X = x, Vector = v }, start: 2);
        var request = (MaasRequest)MessageCodec.Read(payload, newRequest: null, buffer);
        Assert.True(request.X!.IsView && request.Vector!.IsView);
        Assert.True(v.Span.SequenceEqual(request.Vector.Span));
        Assert.Equal(3, buffer.References);
        request.X.Dispose();
        request.Vector.Dispose();
        buffer.Release();
        Assert.Equal(0, buffer.References);
    }

    [Fact]
    public void Small_matrices_and_bytes_outside_the_lent_buffer_are_copied()
    {
        int smallRows = (MessageCodec.ViewMinimumBytes / sizeof(double)) - 1;
        using var small = TestMatrices.Random(smallRows, 1, seed: 6, offset: -0.5);
        var (buffer, payload) = Received(new MaasResponse { Y = small }, start: 0);
        using (var y = ((MaasResponse)MessageCodec.Read(payload, newRequest: null, buffer)).Y!)
        {
            Assert.False(y.IsView);
            Assert.True(small.Span.SequenceEqual(y.Span));
            Assert.Equal(1, buffer.References);
        }

        using var large = TestMatrices.Random(LargeRows, 1, seed: 7, offset: -0.5);
        var (_, elsewhere) = Received(new MaasResponse { Y = large }, start: 0);
        var other = new ReceivedBuffer(new byte[16]);
        using (var y = ((MaasResponse)MessageCodec.Read(elsewhere, newRequest: null, other)).Y!)
        {
            Assert.False(y.IsView);
            Assert.True(large.Span.SequenceEqual(y.Span));
        }

        using (var y = ((MaasResponse)MessageCodec.Read(elsewhere)).Y!)
        {
            Assert.False(y.IsView);
        }

        // Split over two segments: copied.
        var (_, whole) = Received(new MaasResponse { Y = large }, start: 0);
        var split = Segments(whole.ToArray(), whole.Length / 2);
        var splitBuffer = new ReceivedBuffer(new byte[16]);
        using (var y = ((MaasResponse)MessageCodec.Read(split, newRequest: null, splitBuffer)).Y!)
        {
            Assert.False(y.IsView);
            Assert.True(large.Span.SequenceEqual(y.Span));
        }
    }

    private static (ReceivedBuffer Buffer, ReadOnlySequence<byte> Payload) Received(MaasMessage message, int start)
    {
        byte[] encoded = MessageCodec.Encode(message);
        byte[] array = ArrayPool<byte>.Shared.Rent(start + encoded.Length + 100);
        encoded.CopyTo(array, start);
        return (new ReceivedBuffer(array), new ReadOnlySequence<byte>(array, start, encoded.Length));
    }


    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle)
    {
        int at = haystack.AsSpan().IndexOf(needle);
        Assert.True(at >= 0);
        return at;
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, long cut)
    {
        var first = new Segment(bytes.AsMemory(0, (int)cut), 0);
        var second = first.Append(bytes.AsMemory((int)cut));
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

/// <summary>Large matrices sent from their own memory by a writer that can borrow it.</summary>
public sealed class BorrowedSendTests
{
    [Theory]
    [InlineData(65_536, 1)]
    [InlineData(8_192, 1)]
    [InlineData(8_191, 1)]
    [InlineData(40_000, 3)]
    public void The_bytes_written_and_borrowed_are_the_message_as_encoded(int rows, int columns)
    {
        using var x = TestMatrices.Random(rows, columns, seed: rows);
        using var v = TestMatrices.Random(rows, columns, seed: rows + 1);
        using var view = ViewOf(TestMatrices.Random(rows, columns, seed: rows + 2));
        MaasMessage[] messages =
        [
            new MaasRequest { Id = 9, Operation = Operation.Gradient, GradientKind = GradientKind.EvaluateVjp, Model = "m", X = x, Vector = v, Theta = new double[] { 1, 2 } },
            new MaasResponse { Id = 10, Y = x },
            new MaasResponse { Id = 11, Y = view },
            new StreamChunkMessage { Id = 12, Sequence = 3, Rows = x },
        ];
        bool large = (long)rows * columns * sizeof(double) >= MessageCodec.BorrowMinimumBytes;
        foreach (var message in messages)
        {
            var writer = new RecordingWriter();
            MessageCodec.Write(writer, message, writer);
            Assert.Equal(MessageCodec.Encode(message), writer.Bytes());
            Assert.Equal(large, writer.Borrowed > 0);
        }
    }

    [Fact]
    public void Borrowed_memory_is_the_matrix_own_storage()
    {
        using var x = TestMatrices.Random(65_536, 1, seed: 3);
        var writer = new RecordingWriter();
        MessageCodec.Write(writer, new MaasResponse { Id = 1, Y = x }, writer);
        var borrowed = writer.Pieces.Single(p => p.Borrowed).Memory;
        x.Span[5] = 42.0;
        Assert.Equal(42.0, BitConverter.ToDouble(borrowed.Span.Slice(5 * sizeof(double), sizeof(double))));
    }

    private static DoubleMatrix ViewOf(DoubleMatrix m)
    {
        using (m)
        {
            byte[] encoded = MessageCodec.Encode(new MaasResponse { Id = 1, Y = m });
            byte[] received = ArrayPool<byte>.Shared.Rent(encoded.Length);
            encoded.CopyTo(received, 0);
            var buffer = new ReceivedBuffer(received);
            var y = ((MaasResponse)MessageCodec.Read(new ReadOnlySequence<byte>(received, 0, encoded.Length), newRequest: null, buffer)).Y!;
            buffer.Release();
            Assert.Equal((long)m.Length * sizeof(double) >= MessageCodec.ViewMinimumBytes, y.IsView);
            return y;
        }
    }


    /// <summary>Keeps written bytes and borrowed memory in the order they would be sent.</summary>
    private sealed class RecordingWriter : IBufferWriter<byte>, IBorrowingWriter
    {
        private readonly ArrayBufferWriter<byte> _written = new();
        private int _sealed;

        public List<(bool Borrowed, ReadOnlyMemory<byte> Memory)> Pieces { get; } = [];

        public int Borrowed => Pieces.Count(p => p.Borrowed);

        public bool HoldsBorrowedMemory => Borrowed > 0;

        public void Advance(int count) => _written.Advance(count);

        public Memory<byte> GetMemory(int sizeHint = 0) => _written.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => _written.GetSpan(sizeHint);

        public void WriteBorrowed(ReadOnlyMemory<byte> bytes)
        {
            Seal();
            Pieces.Add((true, bytes));
        }

        public byte[] Bytes()
        {
            Seal();
            return [.. Pieces.SelectMany(p => p.Memory.ToArray())];
        }

        private void Seal()
        {
            if (_written.WrittenCount > _sealed)
            {
                Pieces.Add((false, _written.WrittenMemory[_sealed..].ToArray()));
                _sealed = _written.WrittenCount;
            }
        }
    }
}
