using System.Buffers;
using System.Buffers.Binary;

namespace Demos.Maas.Protocol;

/// <summary>
/// Framing: every message travels as a 4-byte little-endian payload length followed by the
/// payload (one MessagePack message). The length excludes the 4 header bytes.
/// </summary>
internal static class FrameCodec
{
    /// <summary>Bytes of the length prefix.</summary>
    public const int HeaderSize = 4;

    /// <summary>Default largest payload a peer accepts: 64 MiB.</summary>
    public const int DefaultMaxFrameBytes = 64 * 1024 * 1024;

    /// <summary>Writes one frame (header and payload) to <paramref name="output"/>.</summary>
    public static void WriteFrame(IBufferWriter<byte> output, MaasMessage message)
    {
        ArgumentNullException.ThrowIfNull(output);
        var payload = new ArrayBufferWriter<byte>();
        MessageCodec.Write(payload, message);
        var header = output.GetSpan(HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.WrittenCount);
        output.Advance(HeaderSize);
        output.Write(payload.WrittenSpan);
    }

    /// <summary>A frame's bytes (tests, tools, the docs' examples).</summary>
    public static byte[] EncodeFrame(MaasMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteFrame(buffer, message);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads the payload length at the start of <paramref name="buffer"/>, if 4 bytes are there.</summary>
    public static bool TryReadLength(in ReadOnlySequence<byte> buffer, out uint length)
    {
        if (buffer.Length < HeaderSize)
        {
            length = 0;
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        return true;
    }

    /// <summary>
    /// Best effort: the request id of a message from the first bytes of its payload, so an
    /// oversized frame can be refused for that request alone. Returns false when they do not start
    /// like a message.
    /// </summary>
    public static bool TryPeekId(ReadOnlySequence<byte> payloadStart, out MessageType type, out uint id)
    {
        type = 0;
        id = 0;
        try
        {
            // The array header by hand: MessagePackReader.ReadArrayHeader insists that the rest of
            // the array could follow, which the first bytes of an oversized frame never show.
            var header = new SequenceReader<byte>(payloadStart);
            if (!header.TryRead(out byte first))
            {
                return false;
            }

            long count = first switch
            {
                >= 0x90 and <= 0x9f => first & 0x0F,
                0xdc => header.TryReadBigEndian(out short count16) ? (ushort)count16 : -1,
                0xdd => header.TryReadBigEndian(out int count32) ? (uint)count32 : -1,
                _ => -1,
            };
            if (count < 3)
            {
                return false;
            }

            var reader = new MessagePack.MessagePackReader(payloadStart.Slice(header.Position));

            type = (MessageType)reader.ReadUInt32();
            id = reader.ReadUInt32();
            return true;
        }
        catch (Exception ex) when (ex is EndOfStreamException or MessagePack.MessagePackSerializationException or OverflowException or InvalidOperationException)
        {
            return false;
        }
    }
}
