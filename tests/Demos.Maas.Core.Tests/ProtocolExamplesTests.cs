using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MessagePack;
using Demos.Maas.Protocol;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// The byte-exact examples of docs/protocol.md. Each hex block is decoded and re-encoded byte for
/// byte, and must equal the codec's encoding of the message described here. Run with
/// MAAS_WRITE_EXAMPLES=1 to regenerate the blocks after a deliberate change of the encoding.
/// </summary>
public sealed partial class ProtocolExamplesTests
{
    private static readonly (string Name, Func<MaasMessage> Message)[] Examples =
    [
        ("hello", () => new HelloMessage { Id = 0, Version = new ProtocolVersion(1, 0), Agent = "demo-client/1.0", MaxFrameBytes = 65536 }),
        ("welcome", () => new WelcomeMessage { Id = 0, Version = new ProtocolVersion(1, 0), Agent = "demo-server/1.0", MaxFrameBytes = 65536, MaxInFlight = 64 }),
        ("logdensity-request", () => new MaasRequest { Id = 7, Operation = Operation.LogDensity, Model = "gaussian1d", X = DoubleMatrix.FromColumn(0.0, 1.0), TimeoutMicros = 250000 }),
        ("logdensity-response", () => new MaasResponse { Id = 7, Y = DoubleMatrix.FromColumn(-0.9189385332046727, -1.4189385332046727) }),
        ("sample-request", () => new MaasRequest { Id = 8, Operation = Operation.Sample, Model = "gaussian1d", Count = 3, Seed = 42, ChunkRows = 2 }),
        ("sample-chunk", () => new StreamChunkMessage { Id = 8, Sequence = 0, Rows = FirstChunkOfTheSampleRequest() }),
        ("sample-end", () => new StreamEndMessage { Id = 8, TotalRows = 3, Seed = 42 }),
        ("error", () => new ErrorMessage { Id = 9, Code = MaasErrorCode.NotFound, Message = NotFoundMessageOfTheExampleServer() }),
        ("cancel", () => new CancelMessage { Id = 8 }),
        ("parameters-changed", () => new ParametersChangedMessage { Id = 0, Model = new Guid("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a01"), Version = 2 }),
        ("compressed", CompressedResponse),
    ];

    /// <summary>A LogDensity response of 32 equal values, as an lz4 connection sends it.</summary>
    private static CompressedMessage CompressedResponse()
    {
        byte[] inner = MessageCodec.Encode(new MaasResponse { Id = 7, Y = DoubleMatrix.FromColumn(Enumerable.Repeat(-0.9189385332046727, 32).ToArray()) });
        using var lz4 = new FrameCompressor(MaasCompression.Lz4, 0);
        return new CompressedMessage { Id = 7, Codec = "lz4", RawLength = (uint)inner.Length, Data = lz4.Compress(inner).ToArray() };
    }

    public static TheoryData<string> Names => [.. Examples.Select(e => e.Name)];

    /// <summary>The draws gaussian1d really sends first for the sample-request example (n 3, seed 42, chunk 2).</summary>
    private static DoubleMatrix FirstChunkOfTheSampleRequest()
    {
        var stream = Demos.Maas.Models.GaussianModel.Create(1).SampleAsync(new SampleRequest { Count = 3, Seed = 42, ChunkRows = 2 });
        var chunks = stream.GetAsyncEnumerator();
        Assert.True(chunks.MoveNextAsync().AsTask().GetAwaiter().GetResult());
        return chunks.Current;
    }

    /// <summary>The message a server hosting the example models really sends for the model 'nope'.</summary>
    private static string NotFoundMessageOfTheExampleServer()
    {
        var registry = new Demos.Maas.Server.ModelRegistry();
        foreach (var name in Demos.Maas.Models.ExampleModels.Names)
        {
            registry.Add(Demos.Maas.Models.ExampleModels.Create(name));
        }

        return Assert.Throws<MaasException>(() => registry.Resolve("nope")).Message;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_documented_frame_decodes_and_reencodes_byte_for_byte(string name)
    {
        if (Environment.GetEnvironmentVariable("MAAS_WRITE_EXAMPLES") == "1")
        {
            WriteExamples();
        }

        string doc = File.ReadAllText(ProtocolDocument());
        var block = Regex.Match(doc, $"<!-- example:{name} -->.*?```hex\\n(?<hex>.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, $"docs/protocol.md has no hex block for '{name}'. Regenerate with MAAS_WRITE_EXAMPLES=1.");
        byte[] frame = ParseHex(block.Groups["hex"].Value);

        Assert.True(FrameCodec.TryReadLength(new System.Buffers.ReadOnlySequence<byte>(frame), out uint length));
        Assert.Equal(frame.Length - 4, (int)length);
        var decoded = MessageCodec.Read(frame.AsMemory(4));
        Assert.Equal(frame, FrameCodec.EncodeFrame(decoded));

        var expected = Examples.Single(e => e.Name == name).Message();
        Assert.Equal(expected.GetType(), decoded.GetType());
        Assert.Equal(FrameCodec.EncodeFrame(expected), frame);
    }

    [Fact]
    public void Every_example_marker_in_the_document_is_tested()
    {
        string doc = File.ReadAllText(ProtocolDocument());
        var documented = MarkerRegex().Matches(doc).Select(m => m.Groups[1].Value).Distinct().Order().ToArray();
        Assert.Equal(Examples.Select(e => e.Name).Order().ToArray(), documented);
    }

    private static void WriteExamples()
    {
        string path = ProtocolDocument();
        string doc = File.ReadAllText(path);
        foreach (var (name, message) in Examples)
        {
            byte[] frame = FrameCodec.EncodeFrame(message());
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"<!-- example:{name} -->\n");
            text.Append("```text\n");
            text.Append(CultureInfo.InvariantCulture, $"length {frame.Length - 4} (0x{frame.Length - 4:x}) bytes, then {Describe(frame.AsMemory(4))}\n");
            text.Append("```\n\n```hex\n");
            for (int i = 0; i < frame.Length; i += 16)
            {
                text.AppendJoin(' ', frame.Skip(i).Take(16).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
                text.Append('\n');
            }

            text.Append("```\n");
            text.Append(CultureInfo.InvariantCulture, $"<!-- /example:{name} -->");
            var block = new Regex($"<!-- example:{name} -->(.*?<!-- /example:{name} -->)?", RegexOptions.Singleline);
            doc = block.Replace(doc, text.ToString().Replace("$", "$$", StringComparison.Ordinal), 1);
        }

        File.WriteAllText(path, doc);
    }

    /// <summary>MessagePack as readable text: arrays [..], maps {..}, bin as bin(n: hex).</summary>
    private static string Describe(ReadOnlyMemory<byte> payload)
    {
        var reader = new MessagePackReader(payload);
        var text = new StringBuilder();

        // Compressed data is bytes, not doubles.
        Describe(ref reader, text, asDoubles: payload.Span[1] != (byte)MessageType.Compressed);
        return text.ToString();
    }

    private static void Describe(ref MessagePackReader reader, StringBuilder text, bool asDoubles)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Array:
                int n = reader.ReadArrayHeader();
                text.Append('[');
                for (int i = 0; i < n; i++)
                {
                    text.Append(i == 0 ? "" : ", ");
                    Describe(ref reader, text, asDoubles);
                }

                text.Append(']');
                break;
            case MessagePackType.Map:
                int m = reader.ReadMapHeader();
                text.Append('{');
                for (int i = 0; i < m; i++)
                {
                    text.Append(i == 0 ? "" : ", ");
                    Describe(ref reader, text, asDoubles);
                    text.Append(": ");
                    Describe(ref reader, text, asDoubles);
                }

                text.Append('}');
                break;
            case MessagePackType.String:
                text.Append('"').Append(reader.ReadString()).Append('"');
                break;
            case MessagePackType.Binary:
                byte[] bytes = System.Buffers.BuffersExtensions.ToArray(reader.ReadBytes()!.Value);
                text.Append(CultureInfo.InvariantCulture, $"bin({bytes.Length}: ");
                if (!asDoubles)
                {
                    text.AppendJoin(' ', bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture))).Append(')');
                    break;
                }

                for (int i = 0; i + 8 <= bytes.Length; i += 8)
                {
                    text.Append(i == 0 ? "" : ", ").Append(BitConverter.ToDouble(bytes, i).ToString("R", CultureInfo.InvariantCulture));
                }

                text.Append(" as f64)");
                break;
            case MessagePackType.Integer:
                text.Append(reader.ReadUInt64().ToString(CultureInfo.InvariantCulture));
                break;
            default:
                text.Append(reader.NextMessagePackType);
                reader.Skip();
                break;
        }
    }

    private static byte[] ParseHex(string hex) =>
        [.. hex.Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(h => byte.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture))];

    private static string ProtocolDocument() => Path.Combine(Demos.Maas.Tests.TestEnvironment.RepositoryRoot, "docs", "protocol.md");

    [GeneratedRegex("<!-- example:([a-z-]+) -->")]
    private static partial Regex MarkerRegex();
}
