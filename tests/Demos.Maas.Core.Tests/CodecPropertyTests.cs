using System.Buffers;
using System.IO.Pipelines;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

public sealed class CodecPropertyTests
{
    [Property(MaxTest = 500)]
    public Property Every_message_round_trips_through_the_codec() =>
        Prop.ForAll(MessageGenerators.Arbitrary, message =>
        {
            byte[] bytes = MessageCodec.Encode(message);
            var decoded = MessageCodec.Read(bytes);
            return decoded.GetType() == message.GetType()
                && decoded.Id == message.Id
                && MessageCodec.Encode(decoded).AsSpan().SequenceEqual(bytes);
        });

    [Property(MaxTest = 200)]
    public Property Frames_split_at_arbitrary_boundaries_decode_to_the_same_messages() =>
        Prop.ForAll(
            Gen.Choose(1, 8).SelectMany(n => Gen.ListOf(MessageGenerators.Any, n)).SelectMany(messages =>
                ArbMap.Default.GeneratorFor<int[]>().Select(cuts => (Messages: messages.ToList(), Cuts: cuts))).ToArbitrary(),
            input =>
            {
                var stream = input.Messages.SelectMany(FrameCodec.EncodeFrame).ToArray();
                var pieces = Split(stream, input.Cuts);
                var decoded = DecodeStreamAsync(pieces, FrameCodec.DefaultMaxFrameBytes).GetAwaiter().GetResult();
                return decoded.Count == input.Messages.Count
                    && decoded.Zip(input.Messages).All(p => MessageCodec.Encode(p.First).AsSpan().SequenceEqual(MessageCodec.Encode(p.Second)));
            });

    [Property(MaxTest = 2000)]
    public Property Arbitrary_bytes_decode_to_a_message_or_a_ProtocolException_and_nothing_else() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            try
            {
                MessageCodec.Read(bytes);
                return true;
            }
            catch (MaasProtocolException ex)
            {
                return ex.Code is MaasErrorCode.ProtocolError or MaasErrorCode.InvalidArgument;
            }
        });

    [Property(MaxTest = 500)]
    public Property Corrupting_one_byte_of_a_valid_message_never_crashes_the_decoder() =>
        Prop.ForAll(
            MessageGenerators.Any.SelectMany(m => Gen.Choose(0, 1 << 20).Two().Select(p => (Bytes: MessageCodec.Encode(m), Position: p.Item1, Value: (byte)p.Item2))).ToArbitrary(),
            input =>
            {
                var bytes = input.Bytes.ToArray();
                bytes[input.Position % bytes.Length] = input.Value;
                try
                {
                    MessageCodec.Read(bytes);
                }
                catch (MaasProtocolException)
                {
                    // The only allowed failure.
                }

                return true;
            });

    [Property(MaxTest = 300)]
    public Property A_frame_stream_of_garbage_ends_in_ProtocolError_or_cleanly() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            try
            {
                DecodeStreamAsync([bytes], 1024).GetAwaiter().GetResult();
                return true;
            }
            catch (MaasProtocolException ex)
            {
                return ex.Code == MaasErrorCode.ProtocolError;
            }
        });

    [Fact]
    public void Values_nested_deeper_than_the_limit_are_refused_without_recursing_further()
    {
        // [3, 1, {"x": [[[[...]]]]}] nested 100000 deep: a naive recursive skip would overflow the stack.
        var bytes = new List<byte> { 0x93, 0x03, 0x01, 0x81, 0xA1, (byte)'z' };
        bytes.AddRange(Enumerable.Repeat((byte)0x91, 100_000));
        bytes.Add(0xC0);
        var error = Assert.Throws<MaasProtocolException>(() => MessageCodec.Read(bytes.ToArray()));
        Assert.Equal(MaasErrorCode.ProtocolError, error.Code);
        Assert.Contains("nested deeper", error.Message);
    }

    [Fact]
    public void A_claimed_huge_shape_is_refused_without_allocating_it()
    {
        // x = ["f64", [100000, 100000], bin8(8)]: 80 GB claimed, 8 bytes sent.
        var request = new List<byte> { 0x93, 0x03, 0x07, 0x82, 0xA2, (byte)'o', (byte)'p', 0x04, 0xA1, (byte)'x', 0x93, 0xA3, (byte)'f', (byte)'6', (byte)'4', 0x92, 0xCE, 0x00, 0x01, 0x86, 0xA0, 0xCE, 0x00, 0x01, 0x86, 0xA0, 0xC4, 0x08 };
        request.AddRange(new byte[8]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<MaasProtocolException>(() => MessageCodec.Read(request.ToArray()));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
        Assert.Equal(7u, error.RequestId);
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes");
    }

    [Fact]
    public void An_unknown_dtype_fails_only_that_request()
    {
        var request = new List<byte> { 0x93, 0x03, 0x09, 0x82, 0xA2, (byte)'o', (byte)'p', 0x04, 0xA1, (byte)'x', 0x93, 0xA3, (byte)'f', (byte)'3', (byte)'2', 0x92, 0x01, 0x01, 0xC4, 0x04, 0, 0, 0, 0 };
        var error = Assert.Throws<MaasProtocolException>(() => MessageCodec.Read(request.ToArray()));
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
        Assert.Equal(9u, error.RequestId);
        Assert.Contains("f32", error.Message);
    }

    [Fact]
    public void Unknown_keys_are_skipped_so_minor_versions_can_add_fields()
    {
        // Error [7, 3, {"code": 2, "future": {"a": [1, 2]}, "message": "m"}]
        byte[] bytes = [0x93, 0x07, 0x03, 0x83, 0xA4, .. "code"u8, 0x02, 0xA6, .. "future"u8, 0x81, 0xA1, (byte)'a', 0x92, 0x01, 0x02, 0xA7, .. "message"u8, 0xA1, (byte)'m'];
        var error = Assert.IsType<ErrorMessage>(MessageCodec.Read(bytes));
        Assert.Equal(MaasErrorCode.NotFound, error.Code);
        Assert.Equal("m", error.Message);
        Assert.Equal(3u, error.Id);
    }

    [Fact]
    public async Task An_oversized_frame_is_skipped_not_buffered_and_reported_with_its_request_id()
    {
        using var x = DoubleMatrix.Zeros(1000, 1);
        var big = FrameCodec.EncodeFrame(new MaasRequest { Id = 42, Operation = Operation.LogDensity, Model = "m", X = x });
        var small = FrameCodec.EncodeFrame(new CancelMessage { Id = 43 });
        var oversized = new List<(MessageType, uint, long)>();
        var messages = await DecodeStreamAsync([big, small], maxFrameBytes: 1024, oversized);
        Assert.Equal((MessageType.Request, 42u, (long)(big.Length - 4)), Assert.Single(oversized));
        Assert.Equal(43u, Assert.IsType<CancelMessage>(Assert.Single(messages)).Id);
    }

    [Fact]
    public async Task A_length_prefix_of_4_GB_with_garbage_after_it_fails_at_once()
    {
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1, 0xC1];
        var error = await Assert.ThrowsAsync<MaasProtocolException>(() => DecodeStreamAsync([bytes], 1024, complete: false));
        Assert.Equal(MaasErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public async Task A_stream_that_ends_inside_a_frame_is_a_ProtocolError()
    {
        var frame = FrameCodec.EncodeFrame(new CancelMessage { Id = 1 });
        var error = await Assert.ThrowsAsync<MaasProtocolException>(() => DecodeStreamAsync([frame[..^1]], 1024));
        Assert.Contains("inside a frame", error.Message);
    }

    private static List<byte[]> Split(byte[] stream, int[] cuts)
    {
        var points = cuts.Select(c => stream.Length == 0 ? 0 : (int)((uint)c % (uint)(stream.Length + 1))).Append(0).Append(stream.Length).Distinct().Order().ToArray();
        var pieces = new List<byte[]>();
        for (int i = 1; i < points.Length; i++)
        {
            pieces.Add(stream[points[i - 1]..points[i]]);
        }

        return pieces;
    }

    private static async Task<List<MaasMessage>> DecodeStreamAsync(IEnumerable<byte[]> pieces, int maxFrameBytes, List<(MessageType, uint, long)>? oversized = null, bool complete = true)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var output = new Pipe();
        using var channel = new FrameChannel(new Duplex(pipe.Reader, output.Writer), maxFrameBytes);
        var messages = new List<MaasMessage>();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var loop = channel.ReadLoopAsync(
            m => { messages.Add(m); return ValueTask.CompletedTask; },
            (type, id, length) => { (oversized ?? throw new MaasProtocolException(MaasErrorCode.ProtocolError, "oversized")).Add((type, id, length)); return ValueTask.CompletedTask; },
            ex => throw ex,
            guard.Token);
        foreach (var piece in pieces)
        {
            await pipe.Writer.WriteAsync(piece);
        }

        if (complete)
        {
            await pipe.Writer.CompleteAsync();
        }

        await loop;
        return messages;
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
