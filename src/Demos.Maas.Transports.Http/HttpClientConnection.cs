using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// A client connection over HTTP: an in-memory duplex pipe whose far end is this adapter. It reads
/// the client's frames, answers Hello locally (with the limits GET /v1 reported), turns each Request
/// into its REST call (MessagePack bodies: the request message as sent) and writes the answers back
/// as frames: a unary answer is one message, a stream's body is already a sequence of frames.
/// Cancel cancels the HTTP request. Requests run concurrently; frames are written whole.
/// </summary>
public sealed class HttpClientConnection : MaasConnection
{
    private static readonly MediaTypeWithQualityHeaderValue AcceptMsgPack = new(HttpBody.MsgPack);
    private static readonly MediaTypeHeaderValue MsgPackType = new(HttpBody.MsgPack);

    /// <summary>Bodies from this size on are sent with <c>Expect: 100-continue</c>.</summary>
    private const int LargeBody = 1 << 20;

    private readonly HttpClient _client;
    private readonly Uri _base;
    private readonly Version _version;
    private readonly WelcomeMessage _server;
    // Continuations run inline: the client's flush runs the adapter (which starts the HTTP send and
    // returns at its first await), and an answer's flush wakes the client's reader, without a
    // thread-pool hop in either direction.
    private readonly Pipe _toAdapter = new(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
    private readonly Pipe _toClient = new(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<uint, CancellationTokenSource> _running = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly DuplexPipe _clientEnd;
    private readonly Task _loop;
    private int _inFlight;
    private AuthenticationHeaderValue? _authorization;

    private HttpClientConnection(HttpClient client, Uri baseUri, Version version, WelcomeMessage server, string remote)
    {
        _client = client;
        _base = baseUri;
        _version = version;
        _server = server;
        RemoteAddress = remote;
        _clientEnd = new DuplexPipe(_toClient.Reader, _toAdapter.Writer);
        _loop = Task.Run(ReadLoopAsync);
    }

    /// <inheritdoc/>
    public override IDuplexPipe Transport => _clientEnd;

    /// <inheritdoc/>
    public override string RemoteAddress { get; }

    /// <summary>Checks that the server answers (GET /v1) and opens the adapter.</summary>
    /// <exception cref="MaasException">Unavailable when the server cannot be reached or is not a Demos.Maas HTTP server.</exception>
    internal static async Task<HttpClientConnection> OpenAsync(HttpClient client, Uri baseUri, Version version, string remote, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "v1")) { Version = version, VersionPolicy = version.Major >= 2 ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower };
        request.Headers.Accept.Add(AcceptMsgPack);
        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode || !HttpBody.IsMsgPack(response.Content.Headers.ContentType?.MediaType) || MessageCodec.Read(body) is not WelcomeMessage welcome)
            {
                throw new MaasException(MaasErrorCode.Unavailable, $"{remote} is not a Demos.Maas HTTP server: GET /v1 answered {(int)response.StatusCode} {response.Content.Headers.ContentType}.");
            }

            return new HttpClientConnection(client, baseUri, version, welcome, remote);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded)
        {
            throw new MaasException(MaasErrorCode.ProtocolError, $"{remote} does not answer in HTTP: if it is a maas server listening on tcp://, use tcp://{baseUri.Authority} instead.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot reach {remote}: {ex.Message}", ex);
        }
        catch (MaasProtocolException ex)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"{remote} answered GET /v1 with a malformed message: {ex.Message}", ex);
        }
    }

    private async Task ReadLoopAsync()
    {
        var input = _toAdapter.Reader;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(_closed.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (FrameCodec.TryReadLength(buffer, out uint length) && buffer.Length >= FrameCodec.HeaderSize + length)
                {
                    var payload = buffer.Slice(FrameCodec.HeaderSize, length).ToArray();
                    buffer = buffer.Slice(FrameCodec.HeaderSize + length);
                    if (!await OnFrameAsync(payload).ConfigureAwait(false))
                    {
                        input.AdvanceTo(buffer.Start);
                        await CloseAsync().ConfigureAwait(false);
                        return;
                    }
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Closed.
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // The client end went away.
        }

        await CloseAsync().ConfigureAwait(false);
    }

    /// <summary>Handles one frame; false closes the connection (after an Error id 0 was written).</summary>
    private async ValueTask<bool> OnFrameAsync(byte[] payload)
    {
        // A request is only peeked at (op, model, dataset, deadline): its arrays go to the server
        // as they are, and the server validates the whole message.
        if (RequestHead.TryRead(payload, out var head))
        {
            return await OnRequestAsync(head, payload).ConfigureAwait(false);
        }

        MaasMessage message;
        try
        {
            message = MessageCodec.Read(payload);
        }
        catch (MaasProtocolException ex) when (ex.RequestId != 0 && ex.Code != MaasErrorCode.ProtocolError)
        {
            // Bad array content in an otherwise readable request: that request fails, as on a stream transport.
            await WriteAsync(new ErrorMessage { Id = ex.RequestId, Code = ex.Code, Message = ex.Message }).ConfigureAwait(false);
            return true;
        }
        catch (MaasProtocolException ex)
        {
            await WriteAsync(new ErrorMessage { Code = MaasErrorCode.ProtocolError, Message = ex.Message }).ConfigureAwait(false);
            return false;
        }

        switch (message)
        {
            case HelloMessage hello:
                if (hello.Version.Major != _server.Version.Major)
                {
                    await WriteAsync(new ErrorMessage { Code = MaasErrorCode.VersionMismatch, Message = $"The client speaks protocol {hello.Version}; this server speaks {_server.Version}." }).ConfigureAwait(false);
                    return false;
                }

                // Hello's credentials travel with every HTTP request, as a bearer token.
                _authorization = hello.Credentials is { Length: > 0 } credentials ? new AuthenticationHeaderValue("Bearer", credentials) : null;
                await WriteAsync(new WelcomeMessage
                {
                    Version = new ProtocolVersion(_server.Version.Major, Math.Min(hello.Version.Minor, _server.Version.Minor)),
                    Agent = _server.Agent,
                    MaxFrameBytes = _server.MaxFrameBytes,
                    MaxInFlight = _server.MaxInFlight,
                }).ConfigureAwait(false);
                return true;
            case MaasRequest request:
                // Only when the peek failed but the full decoder succeeded (an unusual encoding).
                var fallback = new RequestHead(request.Id, request.Operation, request.Model, request.Dataset, request.TimeoutMicros);
                Dispose(request);
                return await OnRequestAsync(fallback, payload).ConfigureAwait(false);
            case CancelMessage cancel:
                if (_running.TryGetValue(cancel.Id, out var running))
                {
                    try
                    {
                        await running.CancelAsync().ConfigureAwait(false);
                    }
                    catch (ObjectDisposedException)
                    {
                        // The call ended meanwhile: a Cancel for a finished request is ignored.
                    }
                }

                return true;
            default:
                await WriteAsync(new ErrorMessage { Code = MaasErrorCode.ProtocolError, Message = $"A client does not send {message.Type}." }).ConfigureAwait(false);
                return false;
        }
    }

    private async ValueTask<bool> OnRequestAsync(RequestHead request, byte[] payload)
    {
        if (request.Id == 0 || _running.ContainsKey(request.Id))
        {
            await WriteAsync(new ErrorMessage { Code = MaasErrorCode.ProtocolError, Message = request.Id == 0 ? "Request id 0 is reserved." : $"Request id {request.Id} is already in flight." }).ConfigureAwait(false);
            return false;
        }

        if (Interlocked.Increment(ref _inFlight) > _server.MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            await WriteAsync(new ErrorMessage { Id = request.Id, Code = MaasErrorCode.ResourceExhausted, Message = $"More than {_server.MaxInFlight} requests in flight on this connection." }).ConfigureAwait(false);
            return true;
        }

        if (payload.Length > _server.MaxFrameBytes)
        {
            // Answered here, as the server would (413): sending it would only race the server's early answer against the upload.
            Interlocked.Decrement(ref _inFlight);
            await WriteAsync(new ErrorMessage { Id = request.Id, Code = MaasErrorCode.ResourceExhausted, Message = $"The request is {payload.Length} bytes; this server accepts bodies up to {_server.MaxFrameBytes} bytes. Split the batch." }).ConfigureAwait(false);
            return true;
        }

        var cts = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
        _running[request.Id] = cts;
        _ = CallAsync(request, payload, cts);
        return true;
    }

    private static void Dispose(MaasRequest request)
    {
        request.X?.Dispose();
        request.Vector?.Dispose();
    }

    private async Task CallAsync(RequestHead request, byte[] payload, CancellationTokenSource cts)
    {
        uint id = request.Id;
        bool released = false;

        // The slot and the id are given back before the final answer is written: a client may send
        // its next request (or reuse the id) as soon as it has the answer.
        void Release()
        {
            if (!released)
            {
                released = true;
                _running.TryRemove(new KeyValuePair<uint, CancellationTokenSource>(id, cts));
                Interlocked.Decrement(ref _inFlight);
            }
        }

        try
        {
            using var http = BuildRequest(request, payload);
            if (http is null)
            {
                Release();
                await WriteAsync(new ErrorMessage { Id = id, Code = MaasErrorCode.InvalidArgument, Message = request.Operation is >= Operation.ListModels and <= Operation.UpdateParameters ? $"{request.Operation}: 'model' is required." : $"Unknown operation {(int)request.Operation}." }).ConfigureAwait(false);
                return;
            }

            using var response = await _client.SendAsync(http, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            bool msgpack = HttpBody.IsMsgPack(response.Content.Headers.ContentType?.MediaType);
            if (msgpack && response.IsSuccessStatusCode && request.Operation is Operation.Sample or Operation.ReadData)
            {
                // A running stream keeps its id (Cancel must reach it) but not its in-flight slot.
                Interlocked.Decrement(ref _inFlight);
                released = true;
                try
                {
                    await RelayFramesAsync(response, cts.Token).ConfigureAwait(false);
                }
                finally
                {
                    _running.TryRemove(new KeyValuePair<uint, CancellationTokenSource>(id, cts));
                }

                return;
            }

            var body = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            Release();
            if (msgpack && body.Length > 0)
            {
                await WriteFrameAsync(body).ConfigureAwait(false);
                return;
            }

            var code = HttpStatusMapping.FromStatus((int)response.StatusCode);
            var text = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300)).Trim();
            await WriteAsync(new ErrorMessage { Id = id, Code = code, Message = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase} from {RemoteAddress}{(text.Length > 0 ? ": " + text : "")}" }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // Cancelled by the client (it forgot the id) or the connection closed: nothing to say.
        }
        catch (HttpRequestException ex)
        {
            Release();
            await TryWriteAsync(new ErrorMessage { Id = id, Code = MaasErrorCode.Unavailable, Message = $"HTTP request to {RemoteAddress} failed: {ex.Message}" }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or MaasException)
        {
            Release();
            await TryWriteAsync(new ErrorMessage { Id = id, Code = ex is MaasException m ? m.Code : MaasErrorCode.Unavailable, Message = $"HTTP response from {RemoteAddress} failed: {ex.Message}" }).ConfigureAwait(false);
        }
        finally
        {
            Release();
            cts.Dispose();
        }
    }

    private HttpRequestMessage? BuildRequest(RequestHead request, byte[] payload)
    {
        string? model = string.IsNullOrEmpty(request.Model) ? null : Uri.EscapeDataString(request.Model);
        (HttpMethod Method, string Path, bool Body)? route = request.Operation switch
        {
            Operation.ListModels => (HttpMethod.Get, "v1/models", false),
            _ when model is null => null,
            Operation.Info => (HttpMethod.Get, $"v1/models/{model}", false),
            Operation.Evaluate => (HttpMethod.Post, $"v1/models/{model}/evaluate", true),
            Operation.LogDensity => (HttpMethod.Post, $"v1/models/{model}/logdensity", true),
            Operation.Sample => (HttpMethod.Post, $"v1/models/{model}/sample", true),
            Operation.Gradient => (HttpMethod.Post, $"v1/models/{model}/gradient", true),
            Operation.ListData => (HttpMethod.Get, $"v1/models/{model}/data", false),
            Operation.ReadData => (HttpMethod.Post, $"v1/models/{model}/data/{Uri.EscapeDataString(request.Dataset ?? "")}", true),
            Operation.GetParameters => (HttpMethod.Get, $"v1/models/{model}/parameters", false),
            Operation.UpdateParameters => (HttpMethod.Put, $"v1/models/{model}/parameters", true),
            _ => null,
        };
        if (route is not { } r)
        {
            return null;
        }

        var http = new HttpRequestMessage(r.Method, new Uri(_base, r.Path)) { Version = _version, VersionPolicy = _version.Major >= 2 ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower };
        http.Headers.Accept.Add(AcceptMsgPack);
        http.Headers.Authorization = _authorization;
        http.Headers.TryAddWithoutValidation(RestEndpoints.RequestIdHeader, request.Id.ToString(CultureInfo.InvariantCulture));
        if (r.Body)
        {
            http.Content = new ByteArrayContent(payload);
            http.Content.Headers.ContentType = MsgPackType;

            // A large body waits for "100 Continue", so a proxy (or server) that refuses it answers before it is sent.
            http.Headers.ExpectContinue = payload.Length >= LargeBody ? true : null;
        }
        else if (request.TimeoutMicros is { } micros)
        {
            http.Headers.TryAddWithoutValidation(RestEndpoints.TimeoutHeader, (micros / 1000.0).ToString("R", CultureInfo.InvariantCulture));
        }

        return http;
    }

    /// <summary>Copies the frames of a stream's body to the client, each whole, as they arrive.</summary>
    private async Task RelayFramesAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (FrameCodec.TryReadLength(buffer, out uint length) && buffer.Length >= FrameCodec.HeaderSize + length)
                {
                    await WriteFrameAsync(buffer.Slice(FrameCodec.HeaderSize, length)).ConfigureAwait(false);
                    buffer = buffer.Slice(FrameCodec.HeaderSize + length);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        throw new IOException("The stream's body ended inside a frame.");
                    }

                    return;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask WriteAsync(MaasMessage message)
    {
        var bytes = MessageCodec.Encode(message);
        await WriteFrameAsync(new ReadOnlySequence<byte>(bytes)).ConfigureAwait(false);
    }

    private async ValueTask TryWriteAsync(MaasMessage message)
    {
        try
        {
            await WriteAsync(message).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed meanwhile.
        }
    }

    private ValueTask WriteFrameAsync(byte[] payload) => WriteFrameAsync(new ReadOnlySequence<byte>(payload));

    private async ValueTask WriteFrameAsync(ReadOnlySequence<byte> payload)
    {
        await _writeLock.WaitAsync(_closed.Token).ConfigureAwait(false);
        try
        {
            var output = _toClient.Writer;
            BinaryPrimitives.WriteUInt32LittleEndian(output.GetSpan(FrameCodec.HeaderSize), (uint)payload.Length);
            output.Advance(FrameCodec.HeaderSize);
            foreach (var segment in payload)
            {
                output.Write(segment.Span);
            }

            await output.FlushAsync(_closed.Token).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task CloseAsync()
    {
        if (_closed.IsCancellationRequested)
        {
            return;
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _closed.CancelAsync().ConfigureAwait(false);
            await _toClient.Writer.CompleteAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc/>
    public override void Abort() => _ = CloseAsync();

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await _toAdapter.Writer.CompleteAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _toAdapter.Reader.CompleteAsync().ConfigureAwait(false);
        await _toClient.Reader.CompleteAsync().ConfigureAwait(false);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
