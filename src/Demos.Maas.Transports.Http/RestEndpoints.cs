using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Demos.Maas.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.Routing;
using Demos.Maas.Security;
using Demos.Maas.Server;

namespace Demos.Maas.Transports.Http;

/// <summary>The <c>/v1</c> REST routes: one request per HTTP call, MessagePack or JSON (docs/http.md). Every call runs through the server's one call runner, <see cref="MaasServer.InvokeAsync"/>.</summary>
internal sealed class RestEndpoints(MaasServer server)
{
    /// <summary>Deadline header: milliseconds left (decimal), like <c>timeout_us</c> of the binary protocol.</summary>
    public const string TimeoutHeader = "Maas-Timeout-Ms";

    /// <summary>Request id header: echoed in MessagePack answers of requests without a MessagePack body.</summary>
    public const string RequestIdHeader = "Maas-Request-Id";

    public const string NdJson = "application/x-ndjson";

    /// <summary>Maps the routes under <paramref name="v1"/> (a group for <c>/v1</c>).</summary>
    public void Map(IEndpointRouteBuilder v1)
    {
        v1.MapGet("", new RequestDelegate(WelcomeAsync));
        v1.MapGet("/models", new RequestDelegate(ctx => HandleAsync(ctx, Operation.ListModels)));
        v1.MapGet("/models/{model}", new RequestDelegate(ctx => HandleAsync(ctx, Operation.Info)));
        v1.MapPost("/models/{model}/evaluate", new RequestDelegate(ctx => HandleAsync(ctx, Operation.Evaluate)));
        v1.MapPost("/models/{model}/logdensity", new RequestDelegate(ctx => HandleAsync(ctx, Operation.LogDensity)));
        v1.MapPost("/models/{model}/sample", new RequestDelegate(ctx => HandleAsync(ctx, Operation.Sample)));
        v1.MapPost("/models/{model}/gradient", new RequestDelegate(ctx => HandleAsync(ctx, Operation.Gradient)));
        v1.MapGet("/models/{model}/data", new RequestDelegate(ctx => HandleAsync(ctx, Operation.ListData)));
        v1.MapMethods("/models/{model}/data/{dataset}", ["GET", "POST"], new RequestDelegate(ctx => HandleAsync(ctx, Operation.ReadData)));
        v1.MapGet("/models/{model}/parameters", new RequestDelegate(ctx => HandleAsync(ctx, Operation.GetParameters)));
        v1.MapMethods("/models/{model}/parameters", ["PUT", "POST"], new RequestDelegate(ctx => HandleAsync(ctx, Operation.UpdateParameters)));
    }

    /// <summary>GET /v1: the server's version and limits (a Welcome message in MessagePack).</summary>
    private Task WelcomeAsync(HttpContext ctx)
    {
        if (server.RequiresAuthentication && ctx.User.Identity?.IsAuthenticated != true)
        {
            // As the binary handshake does: a caller without accepted credentials learns nothing, not even the limits.
            bool wantsMsgPack = WantsMsgPack(ctx, requestIsMsgPack: false);
            return WriteErrorAsync(ctx, wantsMsgPack, 0, MaasErrorCode.Unauthenticated, "This server requires credentials: an API key ('Authorization: Bearer …') or a TLS client certificate.", null, 401);
        }

        var welcome = new WelcomeMessage
        {
            Version = ProtocolVersion.Current,
            Agent = server.Options.Agent,
            MaxFrameBytes = (uint)server.Options.MaxFrameBytes,
            MaxInFlight = (uint)server.Options.MaxInFlightPerConnection,
        };
        if (WantsMsgPack(ctx, requestIsMsgPack: false))
        {
            return WriteMessageAsync(ctx, 200, welcome);
        }

        return WriteJsonAsync(ctx, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("protocol", welcome.Version.ToString());
            w.WriteString("agent", welcome.Agent);
            w.WriteNumber("max_request_bytes", welcome.MaxFrameBytes);
            w.WriteNumber("max_in_flight", welcome.MaxInFlight);
            w.WriteEndObject();
        });
    }

    private async Task HandleAsync(HttpContext ctx, Operation operation)
    {
        bool requestIsMsgPack = HttpBody.IsMsgPack(ctx.Request.ContentType);
        bool msgpack = WantsMsgPack(ctx, requestIsMsgPack);
        uint id = ParseId(ctx);
        MaasRequest? request = null;
        try
        {
            request = await ReadRequestAsync(ctx, operation, requestIsMsgPack).ConfigureAwait(false);
            if (requestIsMsgPack && request.Id != 0)
            {
                id = request.Id;
            }

            request.Id = id;
            var timeout = ReadTimeout(ctx, request);
            var context = await InvokeAnsweringFirstAsync(server, request, Caller(ctx), timeout, ctx.RequestAborted).ConfigureAwait(false);
            using var answered = new AnsweredOnDispose(context);
            if (context.Stream is { } stream)
            {
                await WriteStreamAsync(ctx, id, msgpack, stream, context, ctx.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                var response = context.Response ?? throw new MaasException(MaasErrorCode.Internal, "The pipeline produced no response.");
                try
                {
                    response.Id = id;
                    if (msgpack)
                    {
                        await WriteMessageAsync(ctx, 200, response).ConfigureAwait(false);
                    }
                    else
                    {
                        await WriteJsonAsync(ctx, 200, w => MaasJson.WriteResponse(w, operation, response)).ConfigureAwait(false);
                    }
                }
                finally
                {
                    response.Y?.Dispose();
                }
            }
        }
        catch (Exception ex) when (!ctx.Response.HasStarted)
        {
            var (code, message, details, status) = Classify(ex, request);
            if (!ctx.RequestAborted.IsCancellationRequested)
            {
                await WriteErrorAsync(ctx, msgpack, id, code, message, details, status).ConfigureAwait(false);
            }
        }
        catch (Exception) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-stream; nothing to answer.
        }
        finally
        {
            if (request is not null)
            {
                request.X?.Dispose();
                request.Vector?.Dispose();
            }
        }
    }

    // The runner has classified the call's own failures; what is left came from reading the request.
    private static (MaasErrorCode Code, string Message, IReadOnlyDictionary<string, string>? Details, int Status) Classify(Exception ex, MaasRequest? request) =>
        ex switch
        {
            SizeLimitException s => (s.Code, s.Message, null, 413),
            UnsupportedMediaTypeException u => (u.Code, u.Message, null, 415),
            MaasException m => (m.Code, m.Message, m.Details, HttpStatusMapping.ToStatus(m.Code)),
            OperationCanceledException => (MaasErrorCode.Cancelled, "Cancelled by the client.", null, HttpStatusMapping.ToStatus(MaasErrorCode.Cancelled)),
            _ => (MaasErrorCode.Internal, $"{request?.Model}.{request?.Operation}: the request could not be handled.", null, 500),
        };

    private static uint ParseId(HttpContext ctx) =>
        ctx.Request.Headers.TryGetValue(RequestIdHeader, out var values) && uint.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out uint id) ? id : 0;

    /// <summary>
    /// Runs a call whose answer the route sends before it disposes an <see cref="AnsweredOnDispose"/>
    /// of the context: the call's metrics and usage line wait until the answer has gone
    /// (MaasServer.InvokeAnsweringFirstAsync).
    /// </summary>
    internal static ValueTask<MaasCallContext> InvokeAnsweringFirstAsync(MaasServer server, MaasRequest request, MaasCaller caller, TimeSpan? timeout, CancellationToken cancellationToken, IModel? model = null) =>
        server.InvokeAnsweringFirstAsync(request, caller, timeout, cancellationToken, model);

    /// <summary>Tells the context its answer has gone (or will not) when the route is done with it, however it ends.</summary>
    internal readonly struct AnsweredOnDispose(MaasCallContext context) : IDisposable
    {
        public void Dispose() => context.Answered();
    }

    /// <summary>Who calls: the principal of the host's (or the application's) authentication, the address, the bearer token.</summary>
    /// <remarks>
    /// The principal and the certificate are read from their features: <c>HttpContext.User</c>
    /// makes an empty principal for every request without one, and the server treats no principal
    /// and an unauthenticated one alike. The features are looked up by type, not with the generic
    /// <c>Get&lt;T&gt;</c>: a generic interface method costs a NativeAOT build a slot lookup per call.
    /// </remarks>
    internal static MaasCaller Caller(HttpContext ctx) => new()
    {
        User = (ctx.Features[typeof(IHttpAuthenticationFeature)] as IHttpAuthenticationFeature)?.User,
        RemoteAddress = ctx.Connection.RemoteIpAddress?.ToString() ?? "unix",
        Credentials = Credentials(ctx),
        PeerIdentity = (ctx.Features[typeof(ITlsConnectionFeature)] as ITlsConnectionFeature)?.ClientCertificate?.Subject,
    };

    internal static string? Credentials(HttpContext ctx)
    {
        var auth = ctx.Request.Headers.Authorization.ToString();
        if (auth.Length == 0)
        {
            return null;
        }

        return auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : auth;
    }

    private static async ValueTask<MaasRequest> ReadRequestAsync(HttpContext ctx, Operation operation, bool msgpack)
    {
        MaasRequest request;
        bool mayHaveBody = !HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method);
        if (!mayHaveBody)
        {
            request = new MaasRequest();
        }
        else if (msgpack)
        {
            request = await HttpBody.ReadAsync(ctx.Request, static body =>
            {
                if (body.IsEmpty)
                {
                    return new MaasRequest();
                }

                return MessageCodec.Read(body) as MaasRequest
                    ?? throw new MaasException(MaasErrorCode.ProtocolError, "The MessagePack body must be a Request message [3, id, {...}] (docs/protocol.md §7).");
            }, ctx.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            string? type = ctx.Request.ContentType;
            if (type is not null && !type.StartsWith(MaasJson.MediaType, StringComparison.OrdinalIgnoreCase) && !type.Contains("+json", StringComparison.OrdinalIgnoreCase))
            {
                throw new UnsupportedMediaTypeException(type);
            }

            request = new MaasRequest();
            var target = request;
            await HttpBody.ReadAsync(ctx.Request, body =>
            {
                // No Content-Type is accepted only without a body (e.g. a sample asked for with query parameters).
                if (type is null && !body.IsEmpty)
                {
                    throw new UnsupportedMediaTypeException(null);
                }

                if (!body.IsEmpty)
                {
                    MaasJson.ReadRequest(body, target);
                }

                return true;
            }, ctx.RequestAborted).ConfigureAwait(false);
        }

        request.Operation = operation;
        var route = ctx.Request.RouteValues;
        request.Model = route.TryGetValue("model", out var model) ? model as string : null;
        if (operation == Operation.ReadData)
        {
            request.Dataset = route["dataset"] as string;
        }

        // W3C trace context: the standard header, unless the body carried one.
        if (request.TraceParent is null && ctx.Request.Headers.TryGetValue("traceparent", out var traceparent))
        {
            request.TraceParent = traceparent.ToString();
        }

        // Query parameters for GET routes (and as a convenience on the others): n, offset, chunk, seed.
        var query = ctx.Request.Query;
        if (query.Count > 0)
        {
            if (query.TryGetValue("n", out var n)) { request.Count = ParseLong(n.ToString(), "n"); }
            if (query.TryGetValue("offset", out var offset)) { request.Offset = ParseLong(offset.ToString(), "offset"); }
            if (query.TryGetValue("chunk", out var chunk)) { request.ChunkRows = (int)Math.Min(int.MaxValue, ParseLong(chunk.ToString(), "chunk")); }
            if (query.TryGetValue("seed", out var seed)) { request.Seed = (ulong)ParseLong(seed.ToString(), "seed"); }
        }

        return request;
    }

    private static long ParseLong(string text, string field) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value
        : throw new MaasException(MaasErrorCode.InvalidArgument, $"Query parameter '{field}': '{text}' is not an integer.");

    internal static TimeSpan? ReadTimeout(HttpContext ctx, MaasRequest request)
    {
        if (ctx.Request.Headers.TryGetValue(TimeoutHeader, out var header))
        {
            if (!double.TryParse(header.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) || double.IsNaN(ms) || ms < 0)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"{TimeoutHeader}: '{header}' is not a non-negative number of milliseconds.");
            }

            request.TimeoutMicros = (long)Math.Min(ms * 1000, long.MaxValue);
        }

        // As in the binary protocol: 49.7 days or more is no deadline (timers cannot hold it).
        return request.TimeoutMicros is { } micros && micros < (long)uint.MaxValue * 1000L - 1000L ? TimeSpan.FromMicroseconds(micros) : null;
    }

    private static bool WantsMsgPack(HttpContext ctx, bool requestIsMsgPack)
    {
        var accept = ctx.Request.Headers.Accept.ToString();
        if (accept.Length == 0 || accept.StartsWith("*/*", StringComparison.Ordinal))
        {
            return requestIsMsgPack;
        }

        bool msgpack = accept.Contains("msgpack", StringComparison.OrdinalIgnoreCase);
        bool json = accept.Contains("json", StringComparison.OrdinalIgnoreCase);
        return msgpack && (!json || accept.IndexOf("msgpack", StringComparison.OrdinalIgnoreCase) < accept.IndexOf("json", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task WriteStreamAsync(HttpContext ctx, uint id, bool msgpack, IAsyncEnumerable<DoubleMatrix> stream, MaasCallContext call, CancellationToken cancellationToken)
    {
        var enumerator = stream.GetAsyncEnumerator(cancellationToken);
        try
        {
            // The first chunk is awaited before the status is sent, so a call that fails at once gets its proper status.
            bool any = await enumerator.MoveNextAsync().ConfigureAwait(false);
            var response = ctx.Response;
            response.StatusCode = 200;
            response.ContentType = msgpack ? HttpBody.MsgPack : NdJson;
            var body = response.BodyWriter;
            long sequence = 0;
            long rows = 0;
            try
            {
                while (any)
                {
                    using (var chunk = enumerator.Current)
                    {
                        rows += chunk.Rows;
                        if (msgpack)
                        {
                            FrameCodec.WriteFrame(body, new StreamChunkMessage { Id = id, Sequence = sequence++, Rows = chunk });
                        }
                        else
                        {
                            using (var w = new Utf8JsonWriter(body))
                            {
                                w.WriteStartObject();
                                w.WriteNumber("seq", sequence++);
                                w.WritePropertyName("y");
                                MaasJson.WriteMatrix(w, chunk);
                                w.WriteEndObject();
                            }

                            body.Write("\n"u8);
                        }
                    }

                    if ((await body.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted)
                    {
                        // The response can take no more (the client went away): stop the model rather than
                        // produce rows nobody receives. Disposing the stream early cancels the call.
                        return;
                    }

                    any = await enumerator.MoveNextAsync().ConfigureAwait(false);
                }

                if (msgpack)
                {
                    FrameCodec.WriteFrame(body, new StreamEndMessage { Id = id, TotalRows = rows, Seed = call.StreamSeed });
                }
                else
                {
                    using (var w = new Utf8JsonWriter(body))
                    {
                        w.WriteStartObject();
                        w.WriteStartObject("end");
                        w.WriteNumber("rows", rows);
                        if (call.StreamSeed is { } seed) { w.WriteNumber("seed", seed); }
                        w.WriteEndObject();
                        w.WriteEndObject();
                    }

                    body.Write("\n"u8);
                }
            }
            catch (Exception ex) when (!ctx.RequestAborted.IsCancellationRequested)
            {
                // After the status: the stream ends with an error message instead of its end message.
                var code = ex is MaasException m ? m.Code : ex is OperationCanceledException ? MaasErrorCode.Unavailable : MaasErrorCode.ModelError;
                if (msgpack)
                {
                    FrameCodec.WriteFrame(body, new ErrorMessage { Id = id, Code = code, Message = ex.Message });
                }
                else
                {
                    using (var w = new Utf8JsonWriter(body))
                    {
                        MaasJson.WriteError(w, code, ex.Message);
                    }

                    body.Write("\n"u8);
                }
            }

            await body.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static async Task WriteMessageAsync(HttpContext ctx, int status, MaasMessage message)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = HttpBody.MsgPack;
        using var body = new ResponseBody(ctx.Response);
        MessageCodec.Write(body, message);
        await body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    internal static async Task WriteJsonAsync(HttpContext ctx, int status, Action<Utf8JsonWriter> write)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        using var body = new ResponseBody(ctx.Response);
        using (var writer = new Utf8JsonWriter(body))
        {
            write(writer);
        }

        await body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    internal static Task WriteErrorAsync(HttpContext ctx, bool msgpack, uint id, MaasErrorCode code, string message, IReadOnlyDictionary<string, string>? details, int status)
    {
        if (status == 413)
        {
            // The rest of an oversized body is not read; close so the client does not keep sending it.
            ctx.Response.Headers.Connection = "close";
        }

        if (details is not null && details.TryGetValue(Security.RateLimitMiddleware.RetryAfterDetail, out var retryMs) && long.TryParse(retryMs, NumberStyles.None, CultureInfo.InvariantCulture, out long ms))
        {
            ctx.Response.Headers.RetryAfter = ((ms + 999) / 1000).ToString(CultureInfo.InvariantCulture);
        }

        if (status == 401)
        {
            ctx.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return msgpack
            ? WriteMessageAsync(ctx, status, new ErrorMessage { Id = id, Code = code, Message = message, Details = details })
            : WriteJsonAsync(ctx, status, w => MaasJson.WriteError(w, code, message, details));
    }
}
