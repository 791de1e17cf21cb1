using System.Buffers.Binary;

namespace Demos.Maas;

/// <summary>The message padding that SHA-1 and SHA-256 share (FIPS 180-4 §5.1.1), for the managed hashes.</summary>
internal static class HashPadding
{
    /// <summary>The message, a 0x80 byte, zero padding, and the 64-bit big-endian bit length, in whole 64-byte blocks.</summary>
    public static byte[] Pad(ReadOnlySpan<byte> data)
    {
        int total = ((data.Length + 8) / 64 + 1) * 64;
        byte[] padded = new byte[total];
        data.CopyTo(padded);
        padded[data.Length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(padded.AsSpan(total - 8), (ulong)data.Length * 8);
        return padded;
    }
}
