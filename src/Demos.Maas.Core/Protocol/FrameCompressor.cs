using System.Buffers;
using K4os.Compression.LZ4;

namespace Demos.Maas.Protocol;

/// <summary>
/// One connection's compressor: compresses outgoing payloads into a reused buffer and decompresses
/// incoming Compressed messages. Used under the channel's write lock (send) and by its single read
/// loop (receive), so each half needs no locking of its own.
/// </summary>
internal sealed class FrameCompressor : IDisposable
{
    /// <summary>Default smallest payload worth compressing: below it the codec's setup outweighs the saving.</summary>
    public const int DefaultThresholdBytes = 64 * 1024;

    private ZstdSharp.Compressor? _zstdCompressor;
    private ZstdSharp.Decompressor? _zstdDecompressor;
    private byte[] _packed = [];

    public FrameCompressor(MaasCompression codec, int thresholdBytes)
    {
        if (codec == MaasCompression.None)
        {
            throw new ArgumentException("A compressor needs a codec.", nameof(codec));
        }

        Codec = codec;
        ThresholdBytes = thresholdBytes;
    }

    public MaasCompression Codec { get; }

    public int ThresholdBytes { get; }

    /// <summary>The feature name of a codec, as offered in Hello and chosen in Welcome.</summary>
    public static string FeatureName(MaasCompression codec) => codec switch
    {
        MaasCompression.Lz4 => "lz4",
        MaasCompression.Zstd => "zstd",
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "No feature name for this codec."),
    };

    /// <summary>The codec a feature name stands for, or None for any other feature.</summary>
    public static MaasCompression FromFeature(string feature) => feature switch
    {
        "lz4" => MaasCompression.Lz4,
        "zstd" => MaasCompression.Zstd,
        _ => MaasCompression.None,
    };

    /// <summary>
    /// Compresses <paramref name="payload"/>; returns the compressed bytes (valid until the next
    /// call) or an empty memory when compressing does not save at least an eighth.
    /// </summary>
    public ReadOnlyMemory<byte> Compress(ReadOnlySpan<byte> payload)
    {
        int bound = Codec == MaasCompression.Lz4 ? LZ4Codec.MaximumOutputSize(payload.Length) : ZstdSharp.Compressor.GetCompressBound(payload.Length);
        if (_packed.Length < bound)
        {
            ReturnPacked();
            _packed = ArrayPool<byte>.Shared.Rent(bound);
        }

        int written = Codec == MaasCompression.Lz4
            ? LZ4Codec.Encode(payload, _packed, LZ4Level.L00_FAST)
            : (_zstdCompressor ??= new ZstdSharp.Compressor(1)).Wrap(payload, _packed);
        return written <= 0 || written > payload.Length - (payload.Length / 8) ? ReadOnlyMemory<byte>.Empty : _packed.AsMemory(0, written);
    }

    /// <summary>Lets a huge buffer go after a huge frame, like the channel's scratch buffer.</summary>
    public void Trim()
    {
        if (_packed.Length > 1024 * 1024)
        {
            ReturnPacked();
        }
    }

    /// <summary>Decompresses <paramref name="message"/> into <paramref name="destination"/>, which is exactly its raw length.</summary>
    /// <exception cref="MaasProtocolException">The data is not valid for the codec or does not fill the raw length.</exception>
    public void Decompress(CompressedMessage message, Span<byte> destination)
    {
        int decoded;
        try
        {
            decoded = Codec == MaasCompression.Lz4
                ? LZ4Codec.Decode(message.Data.Span, destination)
                : (_zstdDecompressor ??= new ZstdSharp.Decompressor()).Unwrap(message.Data.Span, destination);
        }
        catch (Exception ex) when (ex is ZstdSharp.ZstdException or ArgumentException or InvalidOperationException)
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A Compressed message's {message.Codec} data does not decompress: {ex.Message}");
        }

        if (decoded != destination.Length)
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A Compressed message's {message.Codec} data decompresses to {(decoded < 0 ? "nothing valid" : decoded + " bytes")}, not the {destination.Length} its raw length says.");
        }
    }

    public void Dispose()
    {
        ReturnPacked();
        _zstdCompressor?.Dispose();
        _zstdDecompressor?.Dispose();
    }

    private void ReturnPacked()
    {
        if (_packed.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_packed);
        }

        _packed = [];
    }
}
