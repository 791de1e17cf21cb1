namespace Demos.Maas;

/// <summary>
/// The seed of a Sample request that gave none. <see cref="Random.Shared"/> is seeded by the
/// runtime from the operating system without OpenSSL (which <c>RandomNumberGenerator</c> loads on
/// Linux and a <c>FROM scratch</c> image lacks); an unseeded draw needs variety, not secrecy.
/// </summary>
internal static class FreshSeed
{
    /// <summary>64 fresh random bits.</summary>
    public static ulong Next()
    {
        Span<byte> bytes = stackalloc byte[8];
        Random.Shared.NextBytes(bytes);
        return BitConverter.ToUInt64(bytes);
    }
}
