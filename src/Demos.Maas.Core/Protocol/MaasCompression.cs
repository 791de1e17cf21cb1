namespace Demos.Maas.Protocol;

/// <summary>
/// Compression of large frames, negotiated in the handshake (protocol.md, "Compression"). Worth it
/// on slow links between hosts; on one host (pipe://, shm://, loopback tcp://) copying is cheaper
/// than compressing, so clients leave it off there unless told otherwise.
/// </summary>
public enum MaasCompression
{
    /// <summary>Frames travel as they are.</summary>
    None = 0,

    /// <summary>LZ4 block format: fast, modest ratio (feature name "lz4").</summary>
    Lz4 = 1,

    /// <summary>Zstandard frame format, level 1: better ratio, slower (feature name "zstd").</summary>
    Zstd = 2,
}
