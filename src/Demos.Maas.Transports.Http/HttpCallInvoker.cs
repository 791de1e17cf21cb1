using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Demos.Maas.Client;
using Demos.Maas.Protocol;
using Demos.Maas.Server;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// The HTTP call invoker: each call is one REST request (docs/http.md) with the request message as
/// its MessagePack body; a unary answer is one message, a stream's body is a sequence of frames.
/// No handshake and no framing of our own: version and limits come from <c>GET /v1</c> once, the
/// credentials travel as a bearer token, cancelling a call cancels its HTTP request.
/// </summary>
internal sealed class HttpCallInvoker : MaasCallInvoker
{
    private static readonly MediaTypeWithQualityHeaderValue AcceptMsgPack = new(HttpBody.MsgPack);
    private static readonly MediaTypeHeaderValue MsgPackType = new(HttpBody.MsgPack);

    /// <summary>At most this many routes (operation, model, dataset) are kept; others are built each call.</summary>
    private const int MaxRoutes = 1024;

    /// <summary>Bodies from this size on are sent with <c>Expect: 100-continue</c>, so a server or proxy that refuses them answers before they are sent.</summary>
    private const int LargeBody = 1 << 20;

    private readonly HttpClient _client;
    private readonly Uri _base;
    private readonly Version _version;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly SemaphoreSlim _slots;
    private readonly CallTracker _calls = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<RouteKey, RouteTarget> _routes = new();
    private int _nextId;
    private int _disposed;

    private HttpCallInvoker(HttpClient client, Uri baseUri, Version version, Uri uri, WelcomeMessage server, string? credentials)
    {
        _client = client;
        _base = baseUri;
        _version = version;
        Uri = uri;
        Server = server;
        _authorization = credentials is { Length: > 0 } ? new AuthenticationHeaderValue("Bearer", credentials) : null;
        int slots = server.MaxInFlight == 0 ? 1024 : (int)Math.Min(server.MaxInFlight, 1 << 20);
        _slots = new SemaphoreSlim(slots, slots);
    }

    public override Uri Uri { get; }

    public override WelcomeMessage Server { get; }

    public override bool IsUsable => Volatile.Read(ref _disposed) == 0;

    public override int PendingCalls => _calls.Running;

    /// <summary>
    /// Asks <c>GET /v1</c> for the server's version and limits. <paramref name="client"/> may read its
    /// answers on the connections' receiving threads, and its callers then resume there: its streams
    /// must hand receiving over to another thread when the caller's code holds the thread while a
    /// read waits (<see cref="Transports.SocketReceiveStream"/>).
    /// </summary>
    /// <exception cref="MaasException">Unavailable when the server cannot be reached or is not a Demos.Maas HTTP server; VersionMismatch.</exception>
    public static async Task<HttpCallInvoker> ConnectAsync(HttpClient client, Uri baseUri, Version version, Uri uri, MaasClientOptions options, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "v1")) { Version = version, VersionPolicy = Policy(version) };
        request.Headers.Accept.Add(AcceptMsgPack);
        if (options.Credentials is { Length: > 0 } credentials)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credentials);
        }

        WelcomeMessage welcome;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        try
        {
            using var response = await client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                // An application in front of the routes (MapMaas behind its own authentication) refused us.
                throw new MaasException(HttpStatusMapping.FromStatus((int)response.StatusCode), $"{uri} refused the client's credentials (HTTP {(int)response.StatusCode}).");
            }

            if (!response.IsSuccessStatusCode || !HttpBody.IsMsgPack(response.Content.Headers.ContentType?.MediaType) || MessageCodec.Read(body) is not WelcomeMessage answer)
            {
                throw new MaasException(MaasErrorCode.Unavailable, $"{uri} is not a Demos.Maas HTTP server: GET /v1 answered {(int)response.StatusCode} {response.Content.Headers.ContentType}.");
            }

            welcome = answer;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Connecting to {uri} timed out after {options.ConnectTimeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded)
        {
            throw new MaasException(MaasErrorCode.ProtocolError, $"{uri} does not answer in HTTP: if it is a maas server listening on tcp://, use tcp://{baseUri.Authority} instead.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot reach {uri}: {ex.Message}", ex);
        }
        catch (MaasProtocolException ex)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"{uri} answered GET /v1 with a malformed message: {ex.Message}", ex);
        }

        if (welcome.Version.Major != options.ProtocolVersion.Major)
        {
            throw new MaasException(MaasErrorCode.VersionMismatch, $"{uri} speaks protocol {welcome.Version}; this client offered {options.ProtocolVersion}.");
        }

        var negotiated = new WelcomeMessage
        {
            Version = new ProtocolVersion(welcome.Version.Major, Math.Min(welcome.Version.Minor, options.ProtocolVersion.Minor)),
            Agent = welcome.Agent,
            MaxFrameBytes = welcome.MaxFrameBytes,
            MaxInFlight = welcome.MaxInFlight,
            Features = welcome.Features,
        };
        return new HttpCallInvoker(client, baseUri, version, uri, negotiated, options.Credentials);
    }

    public override Task WhenIdleAsync(CancellationToken cancellationToken = default) => _calls.WhenIdleAsync(cancellationToken);

    public override ValueTask DisposeAsync()
    {
        // The HttpClient is the transport's, pooled and shared; running requests end with their callers.
        Interlocked.Exchange(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }

    // Answers are read on the receiving thread of a connection (SocketReceiveStream), and the caller
    // resumes there: one thread wake-up per call. Code that then blocks there, even on an answer
    // that only this connection can read, does not hang: 1 to 5 ms after a read began to wait,
    // another thread takes over the connection's receiving.
    protected override async ValueTask<MaasResponse> SendUnaryAsync(MaasRequest request, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        _calls.Enter();
        try
        {
            using var http = BuildRequest(request);
            using var response = await SendAsync(http, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (HttpBody.IsMsgPack(response.Content.Headers.ContentType?.MediaType) && body.Length > 0)
            {
                return MessageCodec.Read(body) switch
                {
                    MaasResponse answer => answer,
                    ErrorMessage error => throw error.ToException(),
                    var other => throw new MaasException(MaasErrorCode.ProtocolError, $"{Uri} answered {request.Operation} with {other.Type}."),
                };
            }

            throw NotMessagePack(response, body);
        }
        finally
        {
            _calls.Leave();
            _slots.Release();
        }
    }

    protected override async IAsyncEnumerable<DoubleMatrix> SendStreamingAsync(MaasRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        _calls.Enter();
        try
        {
            using var http = BuildRequest(request);
            response = await SendAsync(http, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _calls.Leave();
            _slots.Release();
            throw;
        }

        try
        {
            // A running stream keeps no in-flight slot: the server counts it as done once it started answering.
            _slots.Release();
            if (!response.IsSuccessStatusCode || !HttpBody.IsMsgPack(response.Content.Headers.ContentType?.MediaType))
            {
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                if (HttpBody.IsMsgPack(response.Content.Headers.ContentType?.MediaType) && body.Length > 0 && MessageCodec.Read(body) is ErrorMessage error)
                {
                    throw error.ToException();
                }

                throw NotMessagePack(response, body);
            }

            await foreach (var chunk in ReadStreamAsync(ReadFramesAsync(response, cancellationToken), cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }
        }
        finally
        {
            // Disposing an unfinished response closes its connection at once: the server then cancels the model.
            response.Dispose();
            _calls.Leave();
        }
    }

    private HttpRequestMessage BuildRequest(MaasRequest request)
    {
        ObjectDisposedException.ThrowIf(!IsUsable, this);
        request.Id = unchecked((uint)Interlocked.Increment(ref _nextId)) | 1u;
        var key = new RouteKey(request.Operation, request.Model, request.Operation == Operation.ReadData ? request.Dataset : null);
        if (!_routes.TryGetValue(key, out var route))
        {
            route = Route(request);
            if (_routes.Count < MaxRoutes)
            {
                _routes.TryAdd(key, route);
            }
        }

        var http = new HttpRequestMessage(route.Method, route.Uri) { Version = _version, VersionPolicy = Policy(_version) };
        http.Headers.Accept.Add(AcceptMsgPack);
        http.Headers.Authorization = _authorization;
        http.Headers.TryAddWithoutValidation(RestEndpoints.RequestIdHeader, request.Id.ToString(CultureInfo.InvariantCulture));
        if (route.Body)
        {
            var payload = MessageCodec.Encode(request);
            if (Server.MaxFrameBytes > 0 && payload.Length > Server.MaxFrameBytes)
            {
                // Answered here, as the server would (413): sending it would only race the server's early answer against the upload.
                http.Dispose();
                throw new MaasException(MaasErrorCode.ResourceExhausted, $"The request is {payload.Length} bytes; this server accepts bodies up to {Server.MaxFrameBytes} bytes. Split the batch.");
            }

            http.Content = new ByteArrayContent(payload);
            http.Content.Headers.ContentType = MsgPackType;
            http.Headers.ExpectContinue = payload.Length >= LargeBody ? true : null;
        }
        else if (request.TimeoutMicros is { } micros)
        {
            http.Headers.TryAddWithoutValidation(RestEndpoints.TimeoutHeader, (micros / 1000.0).ToString("R", CultureInfo.InvariantCulture));
        }

        return http;
    }

    // The method, address and body of an operation on a model (the same every call: kept in _routes).
    private RouteTarget Route(MaasRequest request)
    {
        string? model = string.IsNullOrEmpty(request.Model) ? null : Uri.EscapeDataString(request.Model);
        (HttpMethod Method, string Path, bool Body) route = request.Operation switch
        {
            Operation.ListModels => (HttpMethod.Get, "v1/models", false),
            _ when model is null && request.Operation is >= Operation.ListModels and <= Operation.UpdateParameters =>
                throw new MaasException(MaasErrorCode.InvalidArgument, $"{request.Operation}: 'model' is required."),
            Operation.Info => (HttpMethod.Get, $"v1/models/{model}", false),
            Operation.Evaluate => (HttpMethod.Post, $"v1/models/{model}/evaluate", true),
            Operation.LogDensity => (HttpMethod.Post, $"v1/models/{model}/logdensity", true),
            Operation.Sample => (HttpMethod.Post, $"v1/models/{model}/sample", true),
            Operation.Gradient => (HttpMethod.Post, $"v1/models/{model}/gradient", true),
            Operation.ListData => (HttpMethod.Get, $"v1/models/{model}/data", false),
            Operation.ReadData => (HttpMethod.Post, $"v1/models/{model}/data/{Uri.EscapeDataString(request.Dataset ?? "")}", true),
            Operation.GetParameters => (HttpMethod.Get, $"v1/models/{model}/parameters", false),
            Operation.UpdateParameters => (HttpMethod.Put, $"v1/models/{model}/parameters", true),
            _ => throw new MaasException(MaasErrorCode.InvalidArgument, $"Unknown operation {(int)request.Operation}."),
        };
        return new RouteTarget(route.Method, new Uri(_base, route.Path), route.Body);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage http, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.SendAsync(http, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"HTTP request to {Uri} failed: {ex.Message}", ex);
        }
    }

    private MaasException NotMessagePack(HttpResponseMessage response, byte[] body)
    {
        var code = HttpStatusMapping.FromStatus((int)response.StatusCode);
        var text = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300)).Trim();
        return new MaasException(code, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase} from {Uri}{(text.Length > 0 ? ": " + text : "")}");
    }

    /// <summary>The frames of a stream's body, each decoded as it arrives whole.</summary>
    private static async IAsyncEnumerable<MaasMessage> ReadFramesAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException)
                {
                    throw new MaasException(MaasErrorCode.Unavailable, $"The stream from the server was cut: {ex.Message}", ex);
                }

                var buffer = result.Buffer;
                while (FrameCodec.TryReadLength(buffer, out uint length) && buffer.Length >= FrameCodec.HeaderSize + length)
                {
                    var message = MessageCodec.Read(buffer.Slice(FrameCodec.HeaderSize, length));
                    buffer = buffer.Slice(FrameCodec.HeaderSize + length);
                    yield return message;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        throw new MaasException(MaasErrorCode.Unavailable, "The stream's body ended inside a frame.");
                    }

                    yield break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static HttpVersionPolicy Policy(Version version) =>
        version.Major >= 2 ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower;

    private readonly record struct RouteKey(Operation Operation, string? Model, string? Dataset);

    private sealed record RouteTarget(HttpMethod Method, Uri Uri, bool Body);
}
