using Demos.Maas.Protocol;

namespace Demos.Maas;

/// <summary>
/// One call travelling through a middleware pipeline, on the client or the server: the request,
/// its cancellation and deadline, and (once the terminal handler ran) its result.
/// </summary>
/// <remarks>
/// On the server a context, like its <see cref="Request"/>, is valid until the call ends: a server
/// connection reuses both for a later call (as ASP.NET Core reuses an <c>HttpContext</c>).
/// Middleware that keeps anything of a call beyond its end copies it.
/// </remarks>
public sealed class MaasCallContext
{
    private Dictionary<string, object?>? _items;

    /// <summary>Creates a context.</summary>
    public MaasCallContext(MaasRequest request, bool isServer, CancellationToken cancellationToken)
    {
        Request = request;
        CancellationToken = cancellationToken;
        IsServer = isServer;
    }

    /// <summary>The request.</summary>
    public MaasRequest Request { get; private set; }

    /// <summary>Fires on cancel, deadline or shutdown.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Time budget of the call, if it has a deadline.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>True on the server side of the wire.</summary>
    public bool IsServer { get; }

    /// <summary>Who is calling, when a transport or middleware established it.</summary>
    public string? CallerIdentity { get; set; }

    /// <summary>Credentials the client presented in Hello (server side), for authentication middleware.</summary>
    public string? Credentials { get; set; }

    /// <summary>The authenticated caller (server side): an API key's or a TLS certificate's identity with its roles, or the principal of the HTTP application's own authentication. Null when the server does not authenticate.</summary>
    public System.Security.Claims.ClaimsPrincipal? User { get; set; }

    /// <summary>The caller's address (server side), for the audit log and per-address limits.</summary>
    public string? RemoteAddress { get; set; }

    /// <summary>The model the call is for, once resolved.</summary>
    public IModel? Model { get; set; }

    /// <summary>The result of a unary call.</summary>
    public MaasResponse? Response { get; set; }

    /// <summary>The result of a streamed call (Sample, ReadData).</summary>
    public IAsyncEnumerable<DoubleMatrix>? Stream { get; set; }

    /// <summary>Sample: the seed the server used, reported at the end of the stream.</summary>
    public ulong? StreamSeed { get; set; }

    /// <summary>Largest frame the caller accepts (server side): what one answer or stream chunk may weigh.</summary>
    internal int PeerMaxFrameBytes { get; set; } = Protocol.FrameCodec.DefaultMaxFrameBytes;

    /// <summary>
    /// Set by a transport that sends a call's answer before the middleware's after-work runs, and
    /// then calls <see cref="Answered"/>: a client that sleeps while it waits is woken sooner.
    /// </summary>
    internal bool AnswersFirst { get; set; }

    private Action<object>? _afterAnswer;
    private object? _afterAnswerState;

    /// <summary>
    /// Work of a middleware for after the answer has gone (only when <see cref="AnswersFirst"/>).
    /// There is one slot: a second piece of work runs at once.
    /// </summary>
    internal void AfterAnswer(Action<object> work, object state)
    {
        if (_afterAnswer is not null)
        {
            work(state);
            return;
        }

        _afterAnswer = work;
        _afterAnswerState = state;
    }

    /// <summary>The answer has gone (or will not): runs the work left for after it, once.</summary>
    internal void Answered()
    {
        if (_afterAnswer is { } work)
        {
            object state = _afterAnswerState!;
            _afterAnswer = null;
            _afterAnswerState = null;
            work(state);
        }
    }

    /// <summary>Free slots for middleware.</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>
    /// Makes this context the one of the next call on a server connection: every property back to
    /// what a new context has, the items emptied (their dictionary kept).
    /// </summary>
    internal void Reset(MaasRequest request, CancellationToken cancellationToken)
    {
        Answered();
        AnswersFirst = false;
        Request = request;
        CancellationToken = cancellationToken;
        Timeout = null;
        CallerIdentity = null;
        Credentials = null;
        User = null;
        RemoteAddress = null;
        Model = null;
        Response = null;
        Stream = null;
        StreamSeed = null;
        PeerMaxFrameBytes = Protocol.FrameCodec.DefaultMaxFrameBytes;
        _items?.Clear();
    }

    /// <summary>Reads an item without creating the dictionary when no middleware set any (the common case).</summary>
    internal bool TryGetItem(string key, out object? value)
    {
        value = null;
        return _items is not null && _items.TryGetValue(key, out value);
    }
}

/// <summary>A step of a pipeline: handles a call, usually by calling the next step.</summary>
public delegate ValueTask MaasDelegate(MaasCallContext context);

/// <summary>Folds middleware around a terminal handler, first added = outermost (ASP.NET's <c>Use</c>).</summary>
public sealed class MaasPipelineBuilder
{
    private readonly List<Func<MaasDelegate, MaasDelegate>> _middleware = [];

    /// <summary>Adds a middleware.</summary>
    public MaasPipelineBuilder Use(Func<MaasDelegate, MaasDelegate> middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        _middleware.Add(middleware);
        return this;
    }

    /// <summary>Adds all middleware of <paramref name="other"/>, in its order.</summary>
    public MaasPipelineBuilder UseAll(MaasPipelineBuilder other)
    {
        ArgumentNullException.ThrowIfNull(other);
        _middleware.AddRange(other._middleware);
        return this;
    }

    /// <summary>Number of middleware added.</summary>
    public int Count => _middleware.Count;

    /// <summary>Builds the pipeline ending in <paramref name="terminal"/>.</summary>
    public MaasDelegate Build(MaasDelegate terminal)
    {
        var next = terminal;
        for (int i = _middleware.Count - 1; i >= 0; i--)
        {
            next = _middleware[i](next);
        }

        return next;
    }
}
