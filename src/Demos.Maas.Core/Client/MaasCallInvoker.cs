using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Client;

/// <summary>
/// The client's call-level seam (grpc-dotnet's <c>CallInvoker</c>): starts a unary or a streaming
/// call and hands back its result. <see cref="MaasClient"/> runs its middleware on top of one
/// invoker at a time; byte-stream transports get the framed invoker (handshake, ids, multiplexing),
/// HTTP maps each call onto a route, UM-Bridge onto its JSON API. Deadlines are handled here, once
/// for all of them: the budget is written into the request (<c>timeout_us</c>) for the server, and
/// the call is cancelled locally when it passes.
/// </summary>
public abstract class MaasCallInvoker : IAsyncDisposable
{
    /// <summary>The server's address.</summary>
    public abstract Uri Uri { get; }

    /// <summary>What the server said of itself: protocol version, agent, limits.</summary>
    public abstract WelcomeMessage Server { get; }

    /// <summary>False once this invoker can take no new calls (closed, or the server is shutting down); the client then makes a new one.</summary>
    public abstract bool IsUsable { get; }

    /// <summary>Calls started and not yet finished.</summary>
    public abstract int PendingCalls { get; }

    /// <summary>Called when the server reports that a model's parameters changed (model uuid, new version).</summary>
    public Action<Guid, long>? ParametersChanged { get; set; }

    /// <summary>Runs a unary call.</summary>
    /// <exception cref="MaasException">The server's error, Unavailable, or DeadlineExceeded when <paramref name="timeout"/> passed.</exception>
    /// <remarks>The result is a <see cref="ValueTask{TResult}"/> over a reused state machine: await it once.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<MaasResponse> UnaryCallAsync(MaasRequest request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var deadline = CallDeadline.Start(request, timeout, cancellationToken);
        try
        {
            return await SendUnaryAsync(request, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.Expired && !cancellationToken.IsCancellationRequested)
        {
            throw deadline.Exceeded();
        }
        catch (OperationCanceledException ex) when (deadline.CallerCancelled(ex))
        {
            throw CallDeadline.CancelledBy(ex, cancellationToken);
        }
    }

    /// <summary>Runs a streaming call (Sample, ReadData); chunks arrive in order. Stopping early cancels the call on the server.</summary>
    public async IAsyncEnumerable<DoubleMatrix> StreamingCallAsync(MaasRequest request, TimeSpan? timeout, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var deadline = CallDeadline.Start(request, timeout, cancellationToken);
        var chunks = SendStreamingAsync(request, deadline.Token).GetAsyncEnumerator(deadline.Token);
        try
        {
            while (true)
            {
                try
                {
                    if (!await chunks.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (deadline.Expired && !cancellationToken.IsCancellationRequested)
                {
                    throw deadline.Exceeded();
                }
                catch (OperationCanceledException ex) when (deadline.CallerCancelled(ex))
                {
                    throw CallDeadline.CancelledBy(ex, cancellationToken);
                }

                yield return chunks.Current;
            }
        }
        finally
        {
            await chunks.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Connects the invoker a <see cref="MaasClient"/> would use for <paramref name="uri"/>: a call-level
    /// transport's own, else the framed invoker over a byte-stream transport's connection. For
    /// transports that route calls onward (e.g. <c>maas://</c>, which resolves to another address).
    /// </summary>
    /// <exception cref="MaasException">Unavailable (cannot connect), VersionMismatch, InvalidArgument (no transport for the scheme).</exception>
    public static async Task<MaasCallInvoker> ConnectAsync(Uri uri, MaasClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(options);
        var transports = new Transport.TransportSet(options.Transports);
        if (transports.Find<Transport.IMaasCallInvokerFactory>(uri) is { } invokers)
        {
            return await invokers.ConnectAsync(uri, options, cancellationToken).ConfigureAwait(false);
        }

        if (transports.Find<Transport.IMaasConnectionFactory>(uri) is { } connections)
        {
            var logger = (options.LoggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger<MaasClient>();
            return await ClientConnection.OpenAsync(uri, connections, options, logger, cancellationToken).ConfigureAwait(false);
        }

        throw transports.NoTransport(uri, "connect");
    }

    /// <summary>Completes when no call is pending any more (used to retire an invoker whose server said Goodbye).</summary>
    public abstract Task WhenIdleAsync(CancellationToken cancellationToken = default);

    /// <summary>Closes the invoker; calls still running fail with Unavailable.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>Sends a unary request and returns its answer; <paramref name="cancellationToken"/> fires on cancel and on the deadline. The result is awaited once.</summary>
    protected abstract ValueTask<MaasResponse> SendUnaryAsync(MaasRequest request, CancellationToken cancellationToken);

    /// <summary>Sends a streaming request and yields its chunks; <paramref name="cancellationToken"/> fires on cancel and on the deadline.</summary>
    protected abstract IAsyncEnumerable<DoubleMatrix> SendStreamingAsync(MaasRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The chunks of a stream answered as messages (StreamChunk…, then StreamEnd or Error), checked
    /// as the protocol requires: chunks in sequence, and the end's row count equal to the rows that
    /// arrived. For invokers that receive a stream's frames whole (HTTP).
    /// </summary>
    protected static async IAsyncEnumerable<DoubleMatrix> ReadStreamAsync(IAsyncEnumerable<MaasMessage> messages, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        long sequence = 0, rows = 0;
        await foreach (var message in messages.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            switch (message)
            {
                case StreamChunkMessage chunk when chunk.Sequence == sequence:
                    sequence++;
                    rows += chunk.Rows.Rows;
                    yield return chunk.Rows;
                    break;
                case StreamChunkMessage chunk:
                    chunk.Rows.Dispose();
                    throw new MaasException(MaasErrorCode.ProtocolError, $"Stream chunk {chunk.Sequence} arrived where {sequence} was due.");
                case StreamEndMessage end when end.TotalRows == rows:
                    yield break;
                case StreamEndMessage end:
                    throw new MaasException(MaasErrorCode.ProtocolError, $"The stream ended claiming {end.TotalRows} rows; {rows} arrived.");
                case ErrorMessage error:
                    throw error.ToException();
                default:
                    throw new MaasException(MaasErrorCode.ProtocolError, $"Unexpected {message.Type} in a stream.");
            }
        }

        throw new MaasException(MaasErrorCode.Unavailable, "The stream ended without its end message.");
    }

    /// <summary>A call's deadline: writes <c>timeout_us</c> into the request and cancels the call's token when it passes.</summary>
    /// <remarks>
    /// A value, not an object: a call without a deadline allocates nothing for it, and one with a
    /// deadline a single linked source whose own timer is the deadline.
    /// </remarks>
    private readonly struct CallDeadline : IDisposable
    {
        private readonly CancellationTokenSource? _linked;
        private readonly CancellationToken _caller;
        private readonly TimeSpan _budget;

        private CallDeadline(TimeSpan budget, CancellationToken caller)
        {
            _budget = budget;
            _caller = caller;
            _linked = CancellationTokenSource.CreateLinkedTokenSource(caller);
            _linked.CancelAfter(budget);
            Token = _linked.Token;
        }

        private CallDeadline(CancellationToken caller)
        {
            _caller = caller;
            Token = caller;
        }

        public CancellationToken Token { get; }

        // The linked source fires for the caller's token or for the deadline; only the second is "expired".
        public bool Expired => _linked?.IsCancellationRequested == true && !_caller.IsCancellationRequested;

        public static CallDeadline Start(MaasRequest request, TimeSpan? timeout, CancellationToken caller)
        {
            // Timers hold at most ~24.8 days: a longer (or infinite) budget is no deadline in practice.
            // A budget of zero or less has already expired (docs/protocol.md §11).
            if (timeout is not { } t || t.TotalMilliseconds >= int.MaxValue - 1)
            {
                request.TimeoutMicros = null;
                return new CallDeadline(caller);
            }

            var budget = t > TimeSpan.Zero ? t : TimeSpan.FromTicks(1);
            request.TimeoutMicros = t > TimeSpan.Zero ? (long)Math.Max(1, t.TotalMicroseconds) : 0;
            return new CallDeadline(budget, caller);
        }

        /// <summary>
        /// True when the caller's own token ended the call but the exception names the token linked
        /// to the deadline: the caller should see its own token, as in a call without a deadline.
        /// </summary>
        public bool CallerCancelled(OperationCanceledException exception) =>
            _linked is not null && _caller.IsCancellationRequested && exception.CancellationToken != _caller;

        public static OperationCanceledException CancelledBy(OperationCanceledException exception, CancellationToken caller) =>
            new(exception.Message, exception, caller);

        public MaasException Exceeded() =>
            new(MaasErrorCode.DeadlineExceeded, $"The deadline of {_budget.TotalMilliseconds:0.###} ms passed.");

        public void Dispose() => _linked?.Dispose();
    }
}
