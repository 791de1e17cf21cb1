using System.Buffers;
using MessagePack;

namespace Demos.Maas.Protocol;

/// <summary>
/// Encodes and decodes protocol messages as MessagePack, by hand on <see cref="MessagePackWriter"/>
/// and <see cref="MessagePackReader"/>: no resolvers and no reflection, so it runs under NativeAOT.
/// A message is <c>[type, id, body]</c> where body is a map with string keys; unknown keys are
/// skipped so that minor versions can add fields. docs/protocol.md is the normative description.
/// </summary>
public static partial class MessageCodec
{
    /// <summary>Deepest nesting accepted while skipping unknown values (guards the stack against hostile input).</summary>
    public const int MaxSkipDepth = 32;

    /// <summary>Writes <paramref name="message"/> (without a frame header).</summary>
    public static void Write(IBufferWriter<byte> output, MaasMessage message) => Write(output, message, borrowing: null);

    /// <summary>
    /// Writes <paramref name="message"/> (without a frame header); the values of large matrices go
    /// to <paramref name="borrowing"/> as borrowed memory instead of being copied into
    /// <paramref name="output"/> (the same writer).
    /// </summary>
    internal static void Write(IBufferWriter<byte> output, MaasMessage message, IBorrowingWriter? borrowing)
    {
        var writer = new MessagePackWriter(output);
        Write(ref writer, message, borrowing);
        writer.Flush();
    }

    /// <summary>Writes <paramref name="message"/> (without a frame header).</summary>
    public static void Write(ref MessagePackWriter writer, MaasMessage message) => Write(ref writer, message, borrowing: null);

    private static void Write(ref MessagePackWriter writer, MaasMessage message, IBorrowingWriter? borrowing)
    {
        ArgumentNullException.ThrowIfNull(message);
        writer.WriteArrayHeader(3);
        writer.Write((uint)message.Type);
        writer.Write(message.Id);
        switch (message)
        {
            case HelloMessage m: WriteHello(ref writer, m); break;
            case WelcomeMessage m: WriteWelcome(ref writer, m); break;
            case MaasRequest m: WriteRequest(ref writer, m, borrowing); break;
            case MaasResponse m: WriteResponse(ref writer, m, borrowing); break;
            case StreamChunkMessage m: WriteChunk(ref writer, m, borrowing); break;
            case StreamEndMessage m: WriteEnd(ref writer, m); break;
            case ErrorMessage m: WriteError(ref writer, m); break;
            case CancelMessage: writer.WriteMapHeader(0); break;
            case GoodbyeMessage m: WriteGoodbye(ref writer, m); break;
            case ParametersChangedMessage m: WriteParametersChanged(ref writer, m); break;
            case CompressedMessage m: WriteCompressed(ref writer, m); break;
            default: throw new ArgumentException($"Unknown message {message.GetType().Name}.", nameof(message));
        }
    }

    /// <summary>Encodes a message into a new array (tests and tools; the hot path writes into pipes).</summary>
    public static byte[] Encode(MaasMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, message);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes one message that fills <paramref name="payload"/> exactly.</summary>
    /// <exception cref="MaasProtocolException">The bytes are not a valid message.</exception>
    public static MaasMessage Read(ReadOnlySequence<byte> payload) => Read(payload, newRequest: null);

    /// <summary>
    /// Decodes one message; a request is decoded into the object <paramref name="newRequest"/> gives
    /// (a server connection's recycled one). Large matrices whose bytes lie in
    /// <paramref name="received"/> become views of them instead of copies.
    /// </summary>
    internal static MaasMessage Read(ReadOnlySequence<byte> payload, Func<MaasRequest>? newRequest, ReceivedBuffer? received = null)
    {
        var reader = new MessagePackReader(payload);
        uint id = 0;
        try
        {
            int count = reader.ReadArrayHeader();
            if (count < 3)
            {
                throw Malformed($"a message is an array of 3 (type, id, body); got {count} elements");
            }

            uint type = reader.ReadUInt32();
            id = reader.ReadUInt32();
            MaasMessage message = (MessageType)type switch
            {
                MessageType.Hello => ReadHello(ref reader),
                MessageType.Welcome => ReadWelcome(ref reader),
                MessageType.Request => ReadRequest(ref reader, id, newRequest, received),
                MessageType.Response => ReadResponse(ref reader, id, received),
                MessageType.StreamChunk => ReadChunk(ref reader, id, received),
                MessageType.StreamEnd => ReadEnd(ref reader),
                MessageType.Error => ReadError(ref reader),
                MessageType.Cancel => ReadCancel(ref reader),
                MessageType.Goodbye => ReadGoodbye(ref reader),
                MessageType.ParametersChanged => ReadParametersChanged(ref reader),
                MessageType.Compressed => ReadCompressed(ref reader),
                _ => throw Malformed($"unknown message type {type}"),
            };
            for (int i = 3; i < count; i++)
            {
                Skip(ref reader, 1);
            }

            if (!reader.End)
            {
                throw Malformed($"{reader.Sequence.Length - reader.Consumed} bytes follow the message inside its frame");
            }

            message.Id = id;
            return message;
        }
        catch (MaasProtocolException ex) when (ex.RequestId == 0 && id != 0 && ex.Code != MaasErrorCode.ProtocolError)
        {
            throw new MaasProtocolException(ex.Code, ex.Message, id, ex);
        }
        catch (MaasProtocolException)
        {
            throw;
        }
        catch (Exception ex) when (ex is EndOfStreamException or MessagePackSerializationException or InvalidOperationException or OverflowException or ArgumentException or FormatException)
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"Malformed message: {ex.Message}", id, ex);
        }
    }

    /// <summary>Decodes one message from a contiguous buffer.</summary>
    public static MaasMessage Read(ReadOnlyMemory<byte> payload) => Read(new ReadOnlySequence<byte>(payload));

    /// <summary>Skips one value of any type, refusing nesting deeper than <see cref="MaxSkipDepth"/>.</summary>
    internal static void Skip(ref MessagePackReader reader, int depth)
    {
        if (depth > MaxSkipDepth)
        {
            throw Malformed($"values nested deeper than {MaxSkipDepth}");
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Array:
                int items = reader.ReadArrayHeader();
                for (int i = 0; i < items; i++)
                {
                    Skip(ref reader, depth + 1);
                }

                break;
            case MessagePackType.Map:
                int entries = reader.ReadMapHeader();
                for (int i = 0; i < entries; i++)
                {
                    Skip(ref reader, depth + 1);
                    Skip(ref reader, depth + 1);
                }

                break;
            default:
                reader.Skip();
                break;
        }
    }

    internal static MaasProtocolException Malformed(string what) =>
        new(MaasErrorCode.ProtocolError, $"Malformed message: {what}.");

    internal static MaasProtocolException Invalid(string what) =>
        new(MaasErrorCode.InvalidArgument, what);

    // ---- Hello / Welcome -------------------------------------------------------------------

    private static void WriteHello(ref MessagePackWriter w, HelloMessage m)
    {
        w.WriteMapHeader(m.Credentials is null ? 4 : 5);
        w.WriteString("version"u8);
        WriteVersion(ref w, m.Version);
        w.WriteString("agent"u8);
        w.Write(m.Agent);
        w.WriteString("max_frame"u8);
        w.Write(m.MaxFrameBytes);
        w.WriteString("features"u8);
        WriteStrings(ref w, m.Features);
        if (m.Credentials is not null)
        {
            w.WriteString("auth"u8);
            w.Write(m.Credentials);
        }
    }

    private static HelloMessage ReadHello(ref MessagePackReader r)
    {
        ProtocolVersion version = default;
        string agent = "";
        uint maxFrame = 0;
        string? auth = null;
        IReadOnlyList<string> features = [];
        bool hasVersion = false;
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("version"u8)) { version = ReadVersion(ref r); hasVersion = true; }
            else if (key.SequenceEqual("agent"u8)) { agent = ReadString(ref r); }
            else if (key.SequenceEqual("max_frame"u8)) { maxFrame = r.ReadUInt32(); }
            else if (key.SequenceEqual("features"u8)) { features = ReadStrings(ref r); }
            else if (key.SequenceEqual("auth"u8)) { auth = ReadString(ref r); }
            else { Skip(ref r, 1); }
        }

        if (!hasVersion)
        {
            throw Malformed("Hello has no version");
        }

        return new HelloMessage { Version = version, Agent = agent, MaxFrameBytes = maxFrame, Features = features, Credentials = auth };
    }

    private static void WriteWelcome(ref MessagePackWriter w, WelcomeMessage m)
    {
        w.WriteMapHeader(5);
        w.WriteString("version"u8);
        WriteVersion(ref w, m.Version);
        w.WriteString("agent"u8);
        w.Write(m.Agent);
        w.WriteString("max_frame"u8);
        w.Write(m.MaxFrameBytes);
        w.WriteString("max_in_flight"u8);
        w.Write(m.MaxInFlight);
        w.WriteString("features"u8);
        WriteStrings(ref w, m.Features);
    }

    private static WelcomeMessage ReadWelcome(ref MessagePackReader r)
    {
        ProtocolVersion version = default;
        string agent = "";
        uint maxFrame = 0, maxInFlight = 0;
        IReadOnlyList<string> features = [];
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("version"u8)) { version = ReadVersion(ref r); }
            else if (key.SequenceEqual("agent"u8)) { agent = ReadString(ref r); }
            else if (key.SequenceEqual("max_frame"u8)) { maxFrame = r.ReadUInt32(); }
            else if (key.SequenceEqual("max_in_flight"u8)) { maxInFlight = r.ReadUInt32(); }
            else if (key.SequenceEqual("features"u8)) { features = ReadStrings(ref r); }
            else { Skip(ref r, 1); }
        }

        return new WelcomeMessage { Version = version, Agent = agent, MaxFrameBytes = maxFrame, MaxInFlight = maxInFlight, Features = features };
    }

    private static void WriteVersion(ref MessagePackWriter w, ProtocolVersion v)
    {
        w.WriteArrayHeader(2);
        w.Write((uint)v.Major);
        w.Write((uint)v.Minor);
    }

    private static ProtocolVersion ReadVersion(ref MessagePackReader r)
    {
        int n = r.ReadArrayHeader();
        if (n < 2)
        {
            throw Malformed("version is [major, minor]");
        }

        int major = checked((int)r.ReadUInt32());
        int minor = checked((int)r.ReadUInt32());
        for (int i = 2; i < n; i++)
        {
            Skip(ref r, 1);
        }

        return new ProtocolVersion(major, minor);
    }

    // ---- Request ---------------------------------------------------------------------------

    private static void WriteRequest(ref MessagePackWriter w, MaasRequest m, IBorrowingWriter? borrowing)
    {
        int count = 1
            + (m.Model is null ? 0 : 1)
            + (m.X is null ? 0 : 1)
            + (m.Theta.IsEmpty ? 0 : 1)
            + (m.Vector is null ? 0 : 1)
            + (m.Operation == Operation.Gradient ? 1 : 0)
            + (m.Count >= 0 ? 1 : 0)
            + (m.Seed is null ? 0 : 1)
            + (m.ChunkRows > 0 ? 1 : 0)
            + (m.Dataset is null ? 0 : 1)
            + (m.Offset != 0 ? 1 : 0)
            + (m.Update is null ? 0 : m.Update.UpdateId is null ? 1 : 2)
            + (m.TraceParent is null ? 0 : 1)
            + (m.Cache == CacheMode.Default ? 0 : 1)
            + (m.TimeoutMicros is null ? 0 : 1);
        w.WriteMapHeader(count);
        w.WriteString("op"u8);
        w.Write((uint)m.Operation);
        if (m.Model is not null) { w.WriteString("model"u8); w.Write(m.Model); }
        if (m.X is not null) { w.WriteString("x"u8); WriteMatrix(ref w, m.X, borrowing); }
        if (!m.Theta.IsEmpty) { w.WriteString("theta"u8); WriteVector(ref w, m.Theta.Span); }
        if (m.Vector is not null) { w.WriteString("v"u8); WriteMatrix(ref w, m.Vector, borrowing); }
        if (m.Operation == Operation.Gradient) { w.WriteString("kind"u8); w.Write((uint)m.GradientKind); }
        if (m.Count >= 0) { w.WriteString("n"u8); w.Write((ulong)m.Count); }
        if (m.Seed is { } seed) { w.WriteString("seed"u8); w.Write(seed); }
        if (m.ChunkRows > 0) { w.WriteString("chunk"u8); w.Write((uint)m.ChunkRows); }
        if (m.Dataset is not null) { w.WriteString("dataset"u8); w.Write(m.Dataset); }
        if (m.Offset != 0) { w.WriteString("offset"u8); w.Write((ulong)m.Offset); }
        if (m.Update is { } update)
        {
            w.WriteString("values"u8);
            WriteValues(ref w, update.Values);
            if (update.UpdateId is not null) { w.WriteString("update_id"u8); w.Write(update.UpdateId); }
        }

        if (m.TraceParent is not null) { w.WriteString("trace"u8); w.Write(m.TraceParent); }
        if (m.Cache != CacheMode.Default) { w.WriteString("cache"u8); w.Write((uint)m.Cache); }
        if (m.TimeoutMicros is { } timeout) { w.WriteString("timeout_us"u8); w.Write((ulong)Math.Max(0, timeout)); }
    }

    private static MaasRequest ReadRequest(ref MessagePackReader r, uint id, Func<MaasRequest>? newRequest, ReceivedBuffer? received)
    {
        var m = newRequest?.Invoke() ?? new MaasRequest();
        m.Id = id;
        bool hasOp = false;
        Dictionary<string, double[]>? values = null;
        string? updateId = null;
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("op"u8)) { m.Operation = (Operation)r.ReadUInt32(); hasOp = true; }
            else if (key.SequenceEqual("model"u8)) { m.Model = ReadName(ref r); }
            else if (key.SequenceEqual("x"u8)) { m.X = ReadMatrix(ref r, "x", received); }
            else if (key.SequenceEqual("theta"u8)) { m.Theta = ReadVector(ref r, "theta"); }
            else if (key.SequenceEqual("v"u8)) { m.Vector = ReadMatrix(ref r, "v", received); }
            else if (key.SequenceEqual("kind"u8)) { m.GradientKind = (GradientKind)r.ReadUInt32(); }
            else if (key.SequenceEqual("n"u8)) { m.Count = checked((long)r.ReadUInt64()); }
            else if (key.SequenceEqual("seed"u8)) { m.Seed = r.ReadUInt64(); }
            else if (key.SequenceEqual("chunk"u8)) { m.ChunkRows = checked((int)r.ReadUInt32()); }
            else if (key.SequenceEqual("dataset"u8)) { m.Dataset = ReadString(ref r); }
            else if (key.SequenceEqual("offset"u8)) { m.Offset = checked((long)r.ReadUInt64()); }
            else if (key.SequenceEqual("values"u8)) { values = ReadValues(ref r); }
            else if (key.SequenceEqual("update_id"u8)) { updateId = ReadString(ref r); }
            else if (key.SequenceEqual("trace"u8)) { m.TraceParent = ReadString(ref r); }
            else if (key.SequenceEqual("cache"u8)) { m.Cache = (CacheMode)r.ReadUInt32(); }
            else if (key.SequenceEqual("timeout_us"u8)) { m.TimeoutMicros = (long)Math.Min(r.ReadUInt64(), long.MaxValue); }
            else { Skip(ref r, 1); }
        }

        if (!hasOp)
        {
            throw Malformed("Request has no op");
        }

        if (values is not null)
        {
            m.Update = new ParameterUpdate { Values = values, UpdateId = updateId };
        }

        return m;
    }
}
