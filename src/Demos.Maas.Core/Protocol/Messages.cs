namespace Demos.Maas.Protocol;

/// <summary>Message type codes: the first element of every message. Numbers are on the wire.</summary>
public enum MessageType
{
    /// <summary>Client → server, first frame: version, agent, limits, credentials.</summary>
    Hello = 1,

    /// <summary>Server → client, answer to Hello: negotiated version and limits.</summary>
    Welcome = 2,

    /// <summary>Client → server: one operation on one model.</summary>
    Request = 3,

    /// <summary>Server → client: the result of a unary request.</summary>
    Response = 4,

    /// <summary>Server → client: one chunk of a streamed result (Sample, ReadData).</summary>
    StreamChunk = 5,

    /// <summary>Server → client: the end of a stream.</summary>
    StreamEnd = 6,

    /// <summary>Server → client: a request failed (id ≠ 0) or the connection did (id = 0).</summary>
    Error = 7,

    /// <summary>Client → server: abandon request <c>id</c>.</summary>
    Cancel = 8,

    /// <summary>Server → client: the server is draining; send no new requests.</summary>
    Goodbye = 9,

    /// <summary>Server → client, unsolicited: a model's parameters changed (lets client caches drop stale results).</summary>
    ParametersChanged = 10,

    /// <summary>Either direction, only on a connection that negotiated compression: another message, compressed.</summary>
    Compressed = 11,
}

/// <summary>Operation codes of requests. Numbers are on the wire.</summary>
public enum Operation
{
    /// <summary>List hosted models (no model field).</summary>
    ListModels = 1,

    /// <summary>One model's info.</summary>
    Info = 2,

    /// <summary>Forward map.</summary>
    Evaluate = 3,

    /// <summary>log p(x | theta).</summary>
    LogDensity = 4,

    /// <summary>Streamed draws.</summary>
    Sample = 5,

    /// <summary>Derivatives (see <see cref="GradientKind"/>).</summary>
    Gradient = 6,

    /// <summary>List datasets.</summary>
    ListData = 7,

    /// <summary>Streamed dataset slice.</summary>
    ReadData = 8,

    /// <summary>Current parameters.</summary>
    GetParameters = 9,

    /// <summary>Update parameters.</summary>
    UpdateParameters = 10,
}

/// <summary>A protocol version, major.minor. Peers with different majors cannot talk.</summary>
public readonly record struct ProtocolVersion(int Major, int Minor)
{
    /// <summary>The version this library speaks: 1.0.</summary>
    public static ProtocolVersion Current { get; } = new(1, 0);

    /// <inheritdoc/>
    public override string ToString() => $"{Major}.{Minor}";
}

/// <summary>Any protocol message: a type, a request id, a body.</summary>
public abstract class MaasMessage
{
    /// <summary>The message type.</summary>
    public abstract MessageType Type { get; }

    /// <summary>Request id; 0 for connection-level messages.</summary>
    public uint Id { get; set; }
}

/// <summary>The client's first frame.</summary>
public sealed class HelloMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Hello;

    /// <summary>Highest version the client speaks.</summary>
    public ProtocolVersion Version { get; init; } = ProtocolVersion.Current;

    /// <summary>Client software, e.g. "demos-maas-dotnet/0.1.0".</summary>
    public string Agent { get; init; } = "";

    /// <summary>Largest frame the client accepts.</summary>
    public uint MaxFrameBytes { get; init; }

    /// <summary>Optional features the client understands (none are defined in 1.0).</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>Optional credentials (e.g. a bearer token).</summary>
    public string? Credentials { get; init; }
}

/// <summary>The server's answer to Hello.</summary>
public sealed class WelcomeMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Welcome;

    /// <summary>Negotiated version: the client's major, min of the minors.</summary>
    public ProtocolVersion Version { get; init; } = ProtocolVersion.Current;

    /// <summary>Server software.</summary>
    public string Agent { get; init; } = "";

    /// <summary>Largest frame the server accepts.</summary>
    public uint MaxFrameBytes { get; init; }

    /// <summary>Most requests the server runs at once for this connection.</summary>
    public uint MaxInFlight { get; init; }

    /// <summary>Optional features the server enabled.</summary>
    public IReadOnlyList<string> Features { get; init; } = [];
}

/// <summary>A request: one operation on one model.</summary>
public sealed class MaasRequest : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Request;

    /// <summary>The operation.</summary>
    public Operation Operation { get; set; }

    /// <summary>Model uuid or name; null for ListModels.</summary>
    public string? Model { get; set; }

    /// <summary>Points (Evaluate, LogDensity, Gradient).</summary>
    public DoubleMatrix? X { get; set; }

    /// <summary>Parameter values for this call; empty = current.</summary>
    public ReadOnlyMemory<double> Theta { get; set; }

    /// <summary>The v of a VJP/JVP.</summary>
    public DoubleMatrix? Vector { get; set; }

    /// <summary>Gradient kind.</summary>
    public GradientKind GradientKind { get; set; }

    /// <summary>Sample: draws; ReadData: rows (-1 = to the end).</summary>
    public long Count { get; set; } = -1;

    /// <summary>Sample seed.</summary>
    public ulong? Seed { get; set; }

    /// <summary>Rows per chunk of a stream; 0 = server's choice.</summary>
    public int ChunkRows { get; set; }

    /// <summary>ReadData: dataset name.</summary>
    public string? Dataset { get; set; }

    /// <summary>ReadData: first row.</summary>
    public long Offset { get; set; }

    /// <summary>UpdateParameters: the update.</summary>
    public ParameterUpdate? Update { get; set; }

    /// <summary>W3C traceparent of the caller's span, so server spans join the caller's trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>Result cache control for this call.</summary>
    public CacheMode Cache { get; set; }

    /// <summary>Time left until the caller's deadline, in microseconds; null = none.</summary>
    public long? TimeoutMicros { get; set; }

    /// <summary>Clears every field, so a server connection can decode its next request into this one.</summary>
    internal void Reset()
    {
        Id = 0;
        Operation = default;
        Model = null;
        X = null;
        Theta = default;
        Vector = null;
        GradientKind = default;
        Count = -1;
        Seed = null;
        ChunkRows = 0;
        Dataset = null;
        Offset = 0;
        Update = null;
        TraceParent = null;
        Cache = default;
        TimeoutMicros = null;
    }
}

/// <summary>The result of a unary request. Which field is set depends on the operation.</summary>
public sealed class MaasResponse : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Response;

    /// <summary>Evaluate, LogDensity, Gradient: the result matrix.</summary>
    public DoubleMatrix? Y { get; set; }

    /// <summary>Info: the model's info.</summary>
    public ModelInfo? Info { get; set; }

    /// <summary>ListModels: all models' info.</summary>
    public IReadOnlyList<ModelInfo>? Models { get; set; }

    /// <summary>ListData: the datasets.</summary>
    public IReadOnlyList<DatasetInfo>? Datasets { get; set; }

    /// <summary>GetParameters, UpdateParameters: values and version.</summary>
    public ParameterSet? Parameters { get; set; }
}

/// <summary>One chunk of a streamed result.</summary>
public sealed class StreamChunkMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.StreamChunk;

    /// <summary>0, 1, 2, ... within the stream.</summary>
    public long Sequence { get; set; }

    /// <summary>The rows.</summary>
    public required DoubleMatrix Rows { get; set; }
}

/// <summary>The end of a stream.</summary>
public sealed class StreamEndMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.StreamEnd;

    /// <summary>Rows sent in all chunks.</summary>
    public long TotalRows { get; set; }

    /// <summary>Sample: the seed used (reported so a server-chosen seed can be replayed).</summary>
    public ulong? Seed { get; set; }
}

/// <summary>An error: for request <c>Id</c>, or for the connection when Id = 0.</summary>
public sealed class ErrorMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Error;

    /// <summary>Code from the error table.</summary>
    public MaasErrorCode Code { get; set; }

    /// <summary>What went wrong, for people.</summary>
    public string Message { get; set; } = "";

    /// <summary>Optional key/value facts.</summary>
    public IReadOnlyDictionary<string, string>? Details { get; set; }

    /// <summary>The error as an exception.</summary>
    public MaasException ToException() => new(Code, Message, Details);
}

/// <summary>Cancel request <c>Id</c>.</summary>
public sealed class CancelMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Cancel;
}

/// <summary>The server is draining.</summary>
public sealed class GoodbyeMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Goodbye;

    /// <summary>Why (Unavailable when shutting down).</summary>
    public MaasErrorCode Code { get; set; } = MaasErrorCode.Unavailable;

    /// <summary>For people.</summary>
    public string Message { get; set; } = "";
}

/// <summary>A model's parameters changed on the server; sent to every connection.</summary>
public sealed class ParametersChangedMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.ParametersChanged;

    /// <summary>The model's uuid.</summary>
    public Guid Model { get; set; }

    /// <summary>Its new parameter version.</summary>
    public long Version { get; set; }
}

/// <summary>
/// Another message of the same id, compressed with the codec the handshake chose (protocol.md,
/// "Compression"). Senders wrap large frames in it; receivers unwrap it before anything else sees
/// the message.
/// </summary>
public sealed class CompressedMessage : MaasMessage
{
    /// <inheritdoc/>
    public override MessageType Type => MessageType.Compressed;

    /// <summary>The codec's feature name: "lz4" or "zstd".</summary>
    public string Codec { get; set; } = "";

    /// <summary>Bytes of the inner message once decompressed.</summary>
    public uint RawLength { get; set; }

    /// <summary>The compressed inner message (a complete <c>[type, id, body]</c>).</summary>
    public ReadOnlyMemory<byte> Data { get; set; }
}

/// <summary>Per-call control of result caches (client and server). The numbers are on the wire.</summary>
public enum CacheMode
{
    /// <summary>Use the cache if the model is opted in.</summary>
    Default = 0,

    /// <summary>Use the cache for this call even if the model is not opted in.</summary>
    Use = 1,

    /// <summary>Neither read nor write the cache for this call.</summary>
    Bypass = 2,
}
