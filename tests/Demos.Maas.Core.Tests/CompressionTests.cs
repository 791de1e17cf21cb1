using System.Buffers.Binary;
using System.IO.Pipelines;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Core.Tests;

/// <summary>Compression of large frames: the wire format, negotiation, and every malformed Compressed message.</summary>
public sealed class CompressionTests
{
    private const int Threshold = 1024;

    [Theory]
    [InlineData(MaasCompression.Lz4)]
    [InlineData(MaasCompression.Zstd)]
    public async Task A_large_compressible_frame_travels_compressed_and_arrives_unchanged(MaasCompression codec)
    {
        var message = new MaasResponse { Id = 5, Y = DoubleMatrix.FromColumn(Enumerable.Repeat(-0.9189385332046727, 4096).ToArray()) };
        byte[] wire = await SendAsync(codec, message);

        Assert.True(FrameCodec.TryReadLength(new(wire), out uint length));
        var onWire = Assert.IsType<CompressedMessage>(MessageCodec.Read(wire.AsMemory(4, (int)length)));
        Assert.Equal(5u, onWire.Id);
        Assert.Equal(FrameCompressor.FeatureName(codec), onWire.Codec);
        Assert.Equal(MessageCodec.Encode(message).Length, (int)onWire.RawLength);
        Assert.True(wire.Length < onWire.RawLength / 10, $"{wire.Length} bytes on the wire for {onWire.RawLength} raw");

        var received = Assert.IsType<MaasResponse>(Assert.Single(await ReceiveAsync(codec, wire, 64 * 1024 * 1024)));
        Assert.Equal(MessageCodec.Encode(message), MessageCodec.Encode(received));
    }

    [Fact]
    public async Task Small_frames_and_incompressible_arrays_travel_as_they_are()
    {
        var small = new MaasResponse { Id = 1, Y = DoubleMatrix.FromColumn(0.0, 0.0, 0.0) };
        Assert.Equal(FrameCodec.EncodeFrame(small), await SendAsync(MaasCompression.Lz4, small));

        var random = new Random(7);
        var noise = new MaasResponse { Id = 2, Y = DoubleMatrix.FromColumn(Enumerable.Range(0, 4096).Select(_ => random.NextDouble()).ToArray()) };
        Assert.Equal(FrameCodec.EncodeFrame(noise), await SendAsync(MaasCompression.Zstd, noise));

        // Only frames made of arrays are compressed; model info, errors and the handshake never are.
        var error = new ErrorMessage { Id = 3, Code = MaasErrorCode.ModelError, Message = new string('x', 10_000) };
        Assert.Equal(FrameCodec.EncodeFrame(error), await SendAsync(MaasCompression.Lz4, error));
    }

    [Property(MaxTest = 100)]
    public Property Any_array_payload_round_trips_through_a_compressing_channel() =>
        Prop.ForAll(
            Gen.Elements(MaasCompression.Lz4, MaasCompression.Zstd)
                .SelectMany(codec => Gen.Choose(0, 3000).SelectMany(rows => Gen.Choose(0, 3).SelectMany(distinct =>
                    Gen.ArrayOf(Gen.Choose(0, distinct).Select(v => v * 0.25), rows).Select(values => (codec, values)))))
                .ToArbitrary(),
            input =>
            {
                var message = new StreamChunkMessage { Id = 9, Sequence = 3, Rows = DoubleMatrix.FromColumn(input.values) };
                byte[] wire = SendAsync(input.codec, message).GetAwaiter().GetResult();
                var received = ReceiveAsync(input.codec, wire, 64 * 1024 * 1024).GetAwaiter().GetResult();
                return MessageCodec.Encode(Assert.Single(received)).AsSpan().SequenceEqual(MessageCodec.Encode(message));
            });

    [Fact]
    public async Task A_Compressed_message_on_a_connection_that_did_not_negotiate_it_is_a_ProtocolError()
    {
        byte[] wire = await SendAsync(MaasCompression.Lz4, LargeZeros(4));
        var error = await Assert.ThrowsAsync<MaasProtocolException>(() => ReceiveAsync(null, wire, 64 * 1024 * 1024));
        Assert.Equal(MaasErrorCode.ProtocolError, error.Code);
        Assert.Contains("did not negotiate compression", error.Message);
    }

    [Fact]
    public async Task A_Compressed_message_in_the_other_codec_is_a_ProtocolError()
    {
        byte[] wire = await SendAsync(MaasCompression.Zstd, LargeZeros(4));
        var error = await Assert.ThrowsAsync<MaasProtocolException>(() => ReceiveAsync(MaasCompression.Lz4, wire, 64 * 1024 * 1024));
        Assert.Contains("uses 'zstd'; this connection negotiated 'lz4'", error.Message);
    }

    [Theory]
    [InlineData(MaasCompression.Lz4)]
    [InlineData(MaasCompression.Zstd)]
    public async Task Corrupt_or_short_compressed_data_is_a_ProtocolError(MaasCompression codec)
    {
        var inner = MessageCodec.Encode(LargeZeros(4));
        using var compressor = new FrameCompressor(codec, Threshold);
        byte[] packed = compressor.Compress(inner).ToArray();

        foreach (var bad in new[]
        {
            new CompressedMessage { Id = 4, Codec = FrameCompressor.FeatureName(codec), RawLength = (uint)inner.Length, Data = packed.AsMemory(0, packed.Length / 2) },
            new CompressedMessage { Id = 4, Codec = FrameCompressor.FeatureName(codec), RawLength = (uint)inner.Length + 100, Data = packed },
            new CompressedMessage { Id = 4, Codec = FrameCompressor.FeatureName(codec), RawLength = 1000, Data = Enumerable.Repeat((byte)0xAB, 300).ToArray() },
        })
        {
            var error = await Assert.ThrowsAsync<MaasProtocolException>(() => ReceiveAsync(codec, FrameCodec.EncodeFrame(bad), 64 * 1024 * 1024));
            Assert.Equal(MaasErrorCode.ProtocolError, error.Code);
            Assert.Contains("Compressed message", error.Message);
        }
    }

    [Fact]
    public async Task A_Compressed_message_must_hold_one_message_of_its_own_id_and_not_another_Compressed_one()
    {
        using var compressor = new FrameCompressor(MaasCompression.Lz4, Threshold);
        byte[] inner = MessageCodec.Encode(LargeZeros(4));
        var otherId = new CompressedMessage { Id = 5, Codec = "lz4", RawLength = (uint)inner.Length, Data = compressor.Compress(inner).ToArray() };
        var error = await Assert.ThrowsAsync<MaasProtocolException>(() => ReceiveAsync(MaasCompression.Lz4, FrameCodec.EncodeFrame(otherId), 64 * 1024 * 1024));
        Assert.Contains("with id 5 holds a Response with id 4", error.Message);

        byte[] nested = MessageCodec.Encode(new CompressedMessage { Id = 4, Codec = "lz4", RawLength = otherId.RawLength, Data = otherId.Data });
        var twice = new CompressedMessage { Id = 4, Codec = "lz4", RawLength = (uint)nested.Length, Data = compressor.Compress(nested).ToArray() };
        error = await Assert.ThrowsAsync<MaasProtocolException>(() => ReceiveAsync(MaasCompression.Lz4, FrameCodec.EncodeFrame(twice), 64 * 1024 * 1024));
        Assert.Contains("holds another Compressed message", error.Message);

        var missing = FrameCodec.EncodeFrame(new ErrorMessage { Id = 4 });
        missing[5] = (byte)MessageType.Compressed;
        error = await Assert.ThrowsAsync<MaasProtocolException>(() => ReceiveAsync(MaasCompression.Lz4, missing, 64 * 1024 * 1024));
        Assert.Contains("needs codec, raw and data", error.Message);
    }

    [Fact]
    public async Task A_Compressed_message_whose_raw_size_is_over_the_limit_is_refused_like_an_oversized_frame_without_decompressing()
    {
        byte[] wire = await SendAsync(MaasCompression.Lz4, LargeZeros(20_000));
        var oversized = new List<(MessageType, uint, long)>();
        var received = await ReceiveAsync(MaasCompression.Lz4, wire, 64 * 1024, oversized);
        Assert.Empty(received);
        var (type, id, length) = Assert.Single(oversized);
        Assert.Equal(MessageType.Compressed, type);
        Assert.Equal(4u, id);
        Assert.True(length > 64 * 1024);
    }

    [Theory]
    [InlineData("tcp://example.org:5000", null, new[] { "lz4", "zstd" })]
    [InlineData("tls://10.1.2.3:5000", null, new[] { "lz4", "zstd" })]
    [InlineData("tcp://127.0.0.1:5000", null, new string[0])]
    [InlineData("tcp://[::1]:5000", null, new string[0])]
    [InlineData("tcp://localhost:5000", null, new string[0])]
    [InlineData("pipe:///tmp/m.sock", null, new string[0])]
    [InlineData("inproc://m", null, new string[0])]
    [InlineData("pipe:///tmp/m.sock", MaasCompression.Zstd, new[] { "zstd" })]
    [InlineData("tcp://example.org:5000", MaasCompression.None, new string[0])]
    public void Clients_offer_compression_to_other_hosts_only_unless_told(string uri, MaasCompression? setting, string[] offered) =>
        Assert.Equal(offered, ClientConnection.CompressionOffer(new Uri(uri), setting));

    [Theory]
    [InlineData(MaasCompression.Lz4)]
    [InlineData(MaasCompression.Zstd)]
    public async Task Client_and_server_negotiate_a_codec_and_large_calls_come_back_exact(MaasCompression codec)
    {
        string uri = $"inproc://compression-{Guid.NewGuid():N}";
        await using var server = new MaasServer(new MaasServerOptions());
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);
        await using var client = await MaasClient.ConnectAsync(uri, new MaasClientOptions { Compression = codec, CompressionThresholdBytes = Threshold });
        Assert.Equal([FrameCompressor.FeatureName(codec)], client.Server.Features);

        var model = await client.GetModelAsync("gaussian1d");
        using var x = DoubleMatrix.FromColumn(Enumerable.Range(0, 50_000).Select(i => (i % 7) * 0.5).ToArray());
        using var remote = await model.LogDensityAsync(x);
        using var local = await GaussianModel.Create(1).LogDensityAsync(x);
        Assert.Equal(local.Span.ToArray(), remote.Span.ToArray());
    }

    [Fact]
    public async Task A_server_that_accepts_no_codec_answers_without_one_and_calls_still_work()
    {
        string uri = $"inproc://compression-{Guid.NewGuid():N}";
        var options = new MaasServerOptions();
        options.Compression.Clear();
        await using var server = new MaasServer(options);
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);
        await using var client = await MaasClient.ConnectAsync(uri, new MaasClientOptions { Compression = MaasCompression.Lz4 });
        Assert.Empty(client.Server.Features);
        var model = await client.GetModelAsync("gaussian1d");
        using var x = DoubleMatrix.FromColumn(new double[20_000]);
        using var y = await model.LogDensityAsync(x);
        Assert.Equal(20_000, y.Rows);
    }

    [Fact]
    public async Task A_server_answers_only_with_a_codec_it_accepts()
    {
        string uri = $"inproc://compression-{Guid.NewGuid():N}";
        var options = new MaasServerOptions();
        options.Compression.Remove(MaasCompression.Lz4);
        await using var server = new MaasServer(options);
        await server.ListenAsync(uri);
        await using (var lz4Only = await MaasClient.ConnectAsync(uri, new MaasClientOptions { Compression = MaasCompression.Lz4 }))
        {
            Assert.Empty(lz4Only.Server.Features);
        }

        await using var zstd = await MaasClient.ConnectAsync(uri, new MaasClientOptions { Compression = MaasCompression.Zstd });
        Assert.Equal(["zstd"], zstd.Server.Features);
    }

    private static MaasResponse LargeZeros(int rows) => new() { Id = 4, Y = DoubleMatrix.FromColumn(new double[Math.Max(rows, Threshold)]) };

    /// <summary>The bytes a channel with <paramref name="codec"/> negotiated writes for <paramref name="message"/>.</summary>
    private static async Task<byte[]> SendAsync(MaasCompression codec, MaasMessage message)
    {
        var output = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        using (var channel = new FrameChannel(new Duplex(new Pipe().Reader, output.Writer), 1024) { Compressor = new FrameCompressor(codec, Threshold) })
        {
            await channel.SendAsync(message);
        }

        await output.Writer.CompleteAsync();
        var result = await output.Reader.ReadAsync();
        while (!result.IsCompleted)
        {
            output.Reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await output.Reader.ReadAsync();
        }

        return System.Buffers.BuffersExtensions.ToArray(result.Buffer);
    }

    /// <summary>What a channel with <paramref name="codec"/> negotiated (null: none) decodes from <paramref name="wire"/>.</summary>
    private static async Task<List<MaasMessage>> ReceiveAsync(MaasCompression? codec, byte[] wire, int maxFrameBytes, List<(MessageType, uint, long)>? oversized = null)
    {
        var input = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        using var channel = new FrameChannel(new Duplex(input.Reader, new Pipe().Writer), maxFrameBytes)
        {
            Compressor = codec is { } c ? new FrameCompressor(c, Threshold) : null,
        };
        var messages = new List<MaasMessage>();
        await input.Writer.WriteAsync(wire);
        await input.Writer.CompleteAsync();
        await channel.ReadLoopAsync(
            m => { messages.Add(m); return ValueTask.CompletedTask; },
            (type, id, length) => { (oversized ?? throw new MaasProtocolException(MaasErrorCode.ProtocolError, "oversized")).Add((type, id, length)); return ValueTask.CompletedTask; },
            ex => throw ex,
            CancellationToken.None);
        return messages;
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
