using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using Demos.Maas.Protocol;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// Mutation fuzzing of every parser that reads what a peer sends: the MessagePack codec (also the
/// HTTP MessagePack body), the frame reader, and the JSON request body. FsCheck picks valid inputs
/// and mutation seeds; the only allowed failure is the protocol's own error. The CI run does
/// 100,000 cases in all; MAAS_FUZZ_CASES=N runs N (docs/reliability.md).
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("MAAS_FUZZ_CASES"), out int n) && n > 0 ? n : 100_000;

    [Fact]
    public void Mutated_and_random_messages_decode_or_fail_with_a_protocol_error()
    {
        int count = Run(Cases * 3 / 10, MessageGenerators.Any.SelectMany(m => Gen.Choose(0, int.MaxValue).Select(seed => (Message: m, Seed: seed))), input =>
        {
            var bytes = Mutate(MessageCodec.Encode(input.Message), input.Seed);
            try
            {
                var message = MessageCodec.Read(bytes);
                Release(message);
            }
            catch (MaasProtocolException)
            {
                // The only allowed failure.
            }
        });
        output.WriteLine($"codec: {count} mutated messages");
    }

    [Fact]
    public void Mutated_frame_streams_end_cleanly_or_in_a_protocol_error()
    {
        var messages = Gen.Choose(1, 4).SelectMany(k => Gen.ListOf(MessageGenerators.Any, k));
        int count = Run(Cases / 4, messages.SelectMany(list => Gen.Choose(0, int.MaxValue).Select(seed => (Messages: list, Seed: seed))), input =>
        {
            var stream = Mutate([.. input.Messages.SelectMany(FrameCodec.EncodeFrame)], input.Seed);
            try
            {
                ReadFrames(stream, input.Seed);
            }
            catch (MaasProtocolException)
            {
                // The only allowed failure.
            }
        });
        output.WriteLine($"frames: {count} mutated frame streams");
    }

    [Fact]
    public void Mutated_and_random_JSON_bodies_parse_or_fail_with_the_callers_error()
    {
        int count = Run(Cases * 3 / 10, JsonBody.SelectMany(body => Gen.Choose(0, int.MaxValue).Select(seed => (Body: body, Seed: seed))), input =>
        {
            var bytes = input.Seed % 8 == 0 ? Encoding.UTF8.GetBytes(input.Body) : Mutate(Encoding.UTF8.GetBytes(input.Body), input.Seed);
            var request = new MaasRequest();
            try
            {
                MaasJson.ReadRequest(new ReadOnlySequence<byte>(bytes), request);
            }
            catch (MaasException ex) when (ex.Code is MaasErrorCode.InvalidArgument or MaasErrorCode.ProtocolError)
            {
                // The caller's mistake: 400.
            }
            finally
            {
                Release(request);
            }
        });
        output.WriteLine($"json: {count} mutated request bodies");
    }

    [Fact]
    public void Random_bytes_never_crash_any_parser()
    {
        int count = Run(Cases * 15 / 100, ArbMap.Default.GeneratorFor<byte[]>(), bytes =>
        {
            try
            {
                Release(MessageCodec.Read(bytes));
            }
            catch (MaasProtocolException)
            {
            }

            var request = new MaasRequest();
            try
            {
                MaasJson.ReadRequest(new ReadOnlySequence<byte>(bytes), request);
            }
            catch (MaasException ex) when (ex.Code is MaasErrorCode.InvalidArgument or MaasErrorCode.ProtocolError)
            {
            }
            finally
            {
                Release(request);
            }

            _ = MaasJson.TryReadError(new ReadOnlySequence<byte>(bytes));
        });
        output.WriteLine($"random: {count} byte strings through codec, JSON body and JSON error parsers");
    }

    // A value of the wrong kind where a string belongs made GetString throw InvalidOperationException,
    // which was reported as a server failure (500). The JSON fuzz target generates such bodies.
    [Theory]
    [InlineData("{\"dataset\": 1}")]
    [InlineData("{\"trace\": []}")]
    [InlineData("{\"update_id\": 3}")]
    [InlineData("{\"kind\": null}")]
    [InlineData("{\"cache\": []}")]
    public void Regression_a_value_of_the_wrong_kind_is_the_callers_error(string body)
    {
        var request = new MaasRequest();
        var error = Assert.Throws<MaasException>(() => MaasJson.ReadRequest(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(body)), request));
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
    }

    private static readonly Gen<string> Number = Gen.Elements("0", "-1", "1e308", "1e-320", "3.5", "\"NaN\"", "\"Infinity\"", "null", "true", "18446744073709551616", "-9223372036854775809");

    private static readonly Gen<string> Row = Gen.Choose(0, 4).SelectMany(k => Gen.ArrayOf(Number, k)).Select(v => "[" + string.Join(',', v) + "]");

    private static readonly Gen<string> Matrix = Gen.Choose(0, 4).SelectMany(k => Gen.ArrayOf(Row, k)).Select(r => "[" + string.Join(',', r) + "]");

    private static readonly Gen<string> Field = Gen.OneOf(
        Matrix.Select(m => $"\"x\": {m}"),
        Matrix.Select(m => $"\"v\": {m}"),
        Row.Select(r => $"\"theta\": {r}"),
        Number.Select(v => $"\"n\": {v}"),
        Number.Select(v => $"\"seed\": {v}"),
        Number.Select(v => $"\"chunk\": {v}"),
        Number.Select(v => $"\"offset\": {v}"),
        Number.Select(v => $"\"timeout_us\": {v}"),
        Gen.Elements("\"x\"", "\"theta\"", "\"vjp\"", "\"jvp\"", "7", "\"bogus\"").Select(k => $"\"kind\": {k}"),
        Gen.Elements("\"use\"", "\"bypass\"", "2", "[]").Select(c => $"\"cache\": {c}"),
        Gen.Elements("\"d\"", "\"\\u00e9\"", "1", "null").Select(d => $"\"dataset\": {d}"),
        Row.Select(r => $"\"values\": {{\"a\": {r}, \"b\": {r}}}"),
        Gen.Elements("\"u1\"", "3").Select(u => $"\"update_id\": {u}"),
        Gen.Constant("\"unknown\": {\"deep\": [1, [2, [3]]]}"));

    private static readonly Gen<string> JsonBody = Gen.Choose(0, 5).SelectMany(k => Gen.ArrayOf(Field, k)).Select(f => "{" + string.Join(", ", f) + "}");

    /// <summary>Runs <paramref name="check"/> on up to <paramref name="cases"/> generated inputs (fewer if 25 s pass); returns how many ran.</summary>
    private static int Run<T>(int cases, Gen<T> gen, Action<T> check)
    {
        var clock = Stopwatch.StartNew();
        int ran = 0;
        var property = Prop.ForAll(gen.ToArbitrary(), input =>
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(25))
            {
                return true; // Bounded CI time; the count printed says how many really ran.
            }

            ran++;
            check(input);
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases).WithQuietOnSuccess(true), property);
        Assert.True(ran >= Math.Min(cases, 1000), $"only {ran} cases ran");
        return ran;
    }

    /// <summary>1 to 4 mutations chosen by <paramref name="seed"/>: bit flips, interesting bytes, inserts, deletes, duplicates, truncation.</summary>
    private static byte[] Mutate(byte[] input, int seed)
    {
        var random = new Random(seed);
        var bytes = new List<byte>(input);
        byte[] interesting = [0x00, 0x7F, 0x80, 0xC0, 0xC1, 0xC4, 0xCE, 0xCF, 0xD3, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFF];
        for (int k = random.Next(1, 5); k > 0; k--)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1 when bytes.Count > 0: bytes[at] = interesting[random.Next(interesting.Length)]; break;
                case 2: bytes.Insert(at, (byte)random.Next(256)); break;
                case 3 when bytes.Count > 0: bytes.RemoveRange(at, Math.Min(random.Next(1, 9), bytes.Count - at)); break;
                case 4 when bytes.Count > 0: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(random.Next(1, 17), bytes.Count - at))); break;
                case 5: bytes.RemoveRange(at, bytes.Count - at); break;
                default:
                    if (bytes.Count >= 4)
                    {
                        // A large length or count where one was: what a hostile peer would try.
                        bytes[at] = 0xFF;
                        bytes[Math.Min(at + 1, bytes.Count - 1)] = 0xFF;
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    private static void ReadFrames(byte[] stream, int seed)
    {
        var input = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var sink = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        using var channel = new FrameChannel(new Duplex(input.Reader, sink.Writer), 4096);
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var random = new Random(seed);
        var loop = channel.ReadLoopAsync(
            m => { Release(m); return ValueTask.CompletedTask; },
            (_, _, _) => ValueTask.CompletedTask,
            _ => ValueTask.CompletedTask,
            guard.Token);
        for (int at = 0; at < stream.Length;)
        {
            int piece = Math.Min(stream.Length - at, random.Next(1, 64));
            input.Writer.WriteAsync(stream.AsMemory(at, piece)).AsTask().GetAwaiter().GetResult();
            at += piece;
        }

        input.Writer.Complete();
        loop.GetAwaiter().GetResult();
    }

    private static void Release(MaasMessage message)
    {
        switch (message)
        {
            case MaasRequest r: Release(r); break;
            case MaasResponse r: r.Y?.Dispose(); break;
            case StreamChunkMessage c: c.Rows.Dispose(); break;
        }
    }

    private static void Release(MaasRequest request)
    {
        request.X?.Dispose();
        request.Vector?.Dispose();
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
