namespace Demos.Maas.Protocol;

/// <summary>
/// Recognises a peer that speaks HTTP instead of MaaS framing from the four bytes read as a frame
/// length ("HTTP", "GET ", "POST", ...). Without it the user sees "a frame of 1347703880 bytes"
/// when a tcp:// URI points at an HTTP port, or the other way round.
/// </summary>
internal static class ForeignProtocol
{
    /// <summary>A message saying what the peer is and what to use, or null for a plausible frame length.</summary>
    public static string? Describe(uint length)
    {
        Span<byte> bytes = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, length);
        string text = System.Text.Encoding.ASCII.GetString(bytes);
        return text switch
        {
            "HTTP" => "The server answered in HTTP: this is an HTTP server, not a tcp:// or pipe:// MaaS endpoint; use an http:// URI for it.",
            "GET " or "POST" or "PUT " or "HEAD" or "DELE" or "OPTI" or "PATC" or "PRI " =>
                "The peer sent an HTTP request: this is a MaaS endpoint speaking length-prefixed frames (tcp://, pipe://), not an HTTP server; use the maas client, or serve an http:// URI.",
            _ => null,
        };
    }
}
