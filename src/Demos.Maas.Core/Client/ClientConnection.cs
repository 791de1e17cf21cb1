using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Client;

/// <summary>
/// The framed call invoker: one live byte-stream connection of a <see cref="MaasClient"/> with its
/// handshake, request ids, pending calls and read loop. When it closes, its calls fail with
/// Unavailable and the client makes a new one for later calls.
/// </summary>
internal sealed partial class ClientConnection : MaasCallInvoker
{
    private readonly MaasConnection _connection;
    private readonly FrameChannel _channel;
    private readonly MaasClientOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<uint, PendingCall> _pending = new();

    // Calls in _pending, counted apart (ConcurrentDictionary.Count takes every lock); raised before a
    // call is added and lowered after it is removed, so it is never below the table's count.
    private int _inFlight;
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource<WelcomeMessage> _welcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SemaphoreSlim _slots = new(1, 1);
    private Task _readLoop = Task.CompletedTask;
    private Exception? _failure;
    private int _nextId;
    private volatile bool _goodbye;
    private int _disposed;

    private ClientConnection(Uri uri, MaasConnection connection, MaasClientOptions options, ILogger logger)
    {
        Uri = uri;
        _connection = connection;
        _options = options;
        _logger = logger;
        _channel = new FrameChannel(connection, options.MaxFrameBytes)
        {
            // With inline completions callers resume on the receiving thread; every flush then goes at once.
            QueueFlushWhen = options.InlineCompletions ? null : () => PendingCalls > 1,
        };
    }

    public override Uri Uri { get; }

    public override WelcomeMessage Server => _welcome.Task.Result;

    /// <summary>False once closed or told Goodbye: no new calls go here.</summary>
    // A send that failed closes the output at once, possibly before the read loop sees the peer
    // gone: the connection takes no new calls from then on, so a caller can fail over.
    public override bool IsUsable => !_closed.IsCancellationRequested && !_goodbye && !_channel.OutputClosed;

    public override int PendingCalls => Volatile.Read(ref _inFlight);

    private bool RemovePending(uint id, [MaybeNullWhen(false)] out PendingCall call)
    {
        if (!_pending.TryRemove(id, out call))
        {
            return false;
        }

        Interlocked.Decrement(ref _inFlight);
        return true;
    }

    /// <summary>True until the connection closed (a connection told Goodbye is open but not usable).</summary>
    public bool IsOpen => !_closed.IsCancellationRequested;

    public static async Task<ClientConnection> OpenAsync(Uri uri, IMaasConnectionFactory transport, MaasClientOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        MaasConnection connection;
        try
        {
            connection = await transport.ConnectAsync(uri, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Connecting to {uri} timed out after {options.ConnectTimeout.TotalSeconds:0.#} s.");
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot connect to {uri}: {ex.Message}", ex);
        }

        var client = new ClientConnection(uri, connection, options, logger);
        try
        {
            await client.HandshakeAsync(timeout.Token, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return client;
    }

    public override Task WhenIdleAsync(CancellationToken cancellationToken = default)
    {
        NoteIdle();
        return _idle.Task.WaitAsync(cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected override async ValueTask<MaasResponse> SendUnaryAsync(MaasRequest request, CancellationToken cancellationToken)
    {
        using var call = await BeginAsync(request, streaming: false, cancellationToken).ConfigureAwait(false);
        return await call.Pending.Response.ConfigureAwait(false);
    }

    protected override async IAsyncEnumerable<DoubleMatrix> SendStreamingAsync(MaasRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = await BeginAsync(request, streaming: true, cancellationToken).ConfigureAwait(false);
        var pending = call.Pending;
        try
        {
            while (await pending.Chunks.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (pending.Chunks.TryRead(out var chunk))
                {
                    yield return chunk;
                }
            }
        }
        finally
        {
            // The consumer stopped early: tell the server to stop producing.
            if (RemovePending(pending.Id, out _))
            {
                _ = TrySendCancelAsync(pending.Id);
            }

            pending.Drain();
        }
    }

    /// <summary>Takes an in-flight slot, sends the request, and watches its cancellation (which includes its deadline) until disposed.</summary>
    /// <remarks>
    /// Usually a slot is free and the request is written without waiting; that path runs without an
    /// async state machine, since every call of the client goes through it.
    /// </remarks>
    private ValueTask<CallScope> BeginAsync(MaasRequest request, bool streaming, CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        return _slots.Wait(0, CancellationToken.None)
            ? SendInSlot(request, streaming, cancellationToken)
            : BeginWhenSlotFreeAsync(request, streaming, cancellationToken);
    }

    private async ValueTask<CallScope> BeginWhenSlotFreeAsync(MaasRequest request, bool streaming, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await SendInSlot(request, streaming, cancellationToken).ConfigureAwait(false);
    }

    // Sends the request in the slot the caller holds; the slot is given back if sending fails.
    private ValueTask<CallScope> SendInSlot(MaasRequest request, bool streaming, CancellationToken cancellationToken)
    {
        ValueTask<PendingCall> sending;
        try
        {
            sending = SendRequestAsync(request, streaming, cancellationToken);
        }
        catch
        {
            _slots.Release();
            throw;
        }

        return sending.IsCompletedSuccessfully
            ? new ValueTask<CallScope>(new CallScope(this, sending.Result, cancellationToken))
            : WatchWhenSentAsync(sending, cancellationToken);
    }

    // Holds the slot taken for the request until the request is sent, then watches the call.
    private async ValueTask<CallScope> WatchWhenSentAsync(ValueTask<PendingCall> sending, CancellationToken cancellationToken)
    {
        try
        {
            return new CallScope(this, await sending.ConfigureAwait(false), cancellationToken);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _failure ??= new MaasException(MaasErrorCode.Unavailable, "The client was disposed.");
        await _closed.CancelAsync().ConfigureAwait(false);
        await _channel.CloseOutputAsync().ConfigureAwait(false);
        _channel.CompleteInput();
        _connection.Abort();
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Closing is what we asked for.
        }

        FailAll();
        await _connection.DisposeAsync().ConfigureAwait(false);
        _channel.Dispose();
    }

    private async Task HandshakeAsync(CancellationToken timeout, CancellationToken caller)
    {
        _readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);
        try
        {
            await _channel.SendAsync(new HelloMessage
            {
                Version = _options.ProtocolVersion,
                Agent = _options.Agent,
                MaxFrameBytes = (uint)_options.MaxFrameBytes,
                Credentials = _options.Credentials,
                Features = CompressionOffer(Uri, _options.Compression),
            }, timeout).ConfigureAwait(false);
            var welcome = await _welcome.Task.WaitAsync(timeout).ConfigureAwait(false);
            if (welcome.Version.Major != _options.ProtocolVersion.Major || welcome.Version.Minor > _options.ProtocolVersion.Minor)
            {
                throw new MaasException(MaasErrorCode.VersionMismatch, $"{Uri} answered with protocol {welcome.Version}; this client offered {_options.ProtocolVersion}.");
            }

            var chosen = welcome.Features.Select(FrameCompressor.FromFeature).FirstOrDefault(c => c != MaasCompression.None);
            if (chosen != MaasCompression.None)
            {
                _channel.Compressor = CompressionOffer(Uri, _options.Compression).Contains(FrameCompressor.FeatureName(chosen))
                    ? new FrameCompressor(chosen, _options.CompressionThresholdBytes)
                    : throw new MaasException(MaasErrorCode.ProtocolError, $"{Uri} chose the compression '{FrameCompressor.FeatureName(chosen)}', which this client did not offer.");
            }

            _channel.MaxOutgoingFrameBytes = welcome.MaxFrameBytes == 0 ? int.MaxValue : (int)Math.Min(welcome.MaxFrameBytes, int.MaxValue);
            int slots = welcome.MaxInFlight == 0 ? 1024 : (int)Math.Min(welcome.MaxInFlight, 1 << 20);
            _slots = new SemaphoreSlim(slots, slots);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"{Uri} did not complete the handshake within {_options.ConnectTimeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>The compression features to offer in Hello (see <see cref="MaasClientOptions.Compression"/>).</summary>
    internal static string[] CompressionOffer(Uri uri, MaasCompression? setting) => setting switch
    {
        MaasCompression.None => [],
        MaasCompression codec => [FrameCompressor.FeatureName(codec)],
        null when uri.Scheme is "tcp" or "tls" && !IsSameHost(uri) => ["lz4", "zstd"],
        null => [],
    };

    private static bool IsSameHost(Uri uri) =>
        uri.IsLoopback || (System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address))
        || string.Equals(uri.Host, System.Net.Dns.GetHostName(), StringComparison.OrdinalIgnoreCase);

    // Registers the call and writes its request; a send that completes at once (the usual case) returns without a state machine.
    private ValueTask<PendingCall> SendRequestAsync(MaasRequest request, bool streaming, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        uint id = NextId();
        var pending = new PendingCall(id, streaming, _options.InlineCompletions, _channel.Resumption);
        request.Id = id;
        Interlocked.Increment(ref _inFlight);
        _pending[id] = pending;
        ValueTask sending;
        try
        {
            ThrowIfUnusable();
            sending = _channel.SendAsync(request, CancellationToken.None);
        }
        catch
        {
            RemovePending(id, out _);
            throw;
        }

        if (sending.IsCompletedSuccessfully)
        {
            // Releases a pooled source behind the value task.
            sending.GetAwaiter().GetResult();
            return new ValueTask<PendingCall>(pending);
        }

        return AwaitSentAsync(sending, pending);
    }

    private async ValueTask<PendingCall> AwaitSentAsync(ValueTask sending, PendingCall pending)
    {
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch
        {
            RemovePending(pending.Id, out _);
            throw;
        }

        return pending;
    }

    private void Abandon(PendingCall call, CancellationToken token)
    {
        if (!RemovePending(call.Id, out _))
        {
            return;
        }

        call.Cancelled(token);
        _ = TrySendCancelAsync(call.Id);
        NoteIdle();
    }

    // Signals WhenIdleAsync once a connection that takes no new calls has none left.
    private void NoteIdle()
    {
        if ((_pending.IsEmpty && !IsUsable) || _closed.IsCancellationRequested)
        {
            _idle.TrySetResult();
        }
    }

    private async Task TrySendCancelAsync(uint id)
    {
        if (!_closed.IsCancellationRequested)
        {
            await _channel.TrySendAsync(new CancelMessage { Id = id }).ConfigureAwait(false);
        }
    }

    private uint NextId()
    {
        while (true)
        {
            uint id = unchecked((uint)Interlocked.Increment(ref _nextId));
            if (id != 0 && !_pending.ContainsKey(id))
            {
                return id;
            }
        }
    }

    private void ThrowIfUnusable()
    {
        if (_failure is MaasException failure && _closed.IsCancellationRequested)
        {
            throw new MaasException(failure.Code is MaasErrorCode.ProtocolError or MaasErrorCode.VersionMismatch ? failure.Code : MaasErrorCode.Unavailable, failure.Message);
        }

        if (_closed.IsCancellationRequested)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"The connection to {Uri} is closed.");
        }

        if (_goodbye)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"{Uri} is shutting down; connect to another server or retry later.");
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            await _channel.ReadLoopAsync(OnMessageAsync, OnOversizedAsync, OnInvalidAsync, _closed.Token).ConfigureAwait(false);
            _failure ??= new MaasException(MaasErrorCode.Unavailable, $"{Uri} closed the connection.");
        }
        catch (MaasProtocolException ex)
        {
            LogProtocolError(_logger, Uri.ToString(), ex.Message);
            _failure ??= ex;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            _failure ??= new MaasException(MaasErrorCode.Unavailable, $"The connection to {Uri} was lost: {ex.Message}");
        }
        finally
        {
            await _closed.CancelAsync().ConfigureAwait(false);
            _welcome.TrySetException(_failure ?? new MaasException(MaasErrorCode.Unavailable, $"{Uri} closed the connection."));
            FailAll();
        }
    }

    private ValueTask OnMessageAsync(MaasMessage message)
    {
        if (!_welcome.Task.IsCompleted)
        {
            switch (message)
            {
                case WelcomeMessage welcome:
                    _welcome.TrySetResult(welcome);
                    return ValueTask.CompletedTask;
                case ErrorMessage error:
                    _failure = error.ToException();
                    _welcome.TrySetException(_failure);
                    return ValueTask.CompletedTask;
                default:
                    throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"The server answered Hello with {message.Type}.");
            }
        }

        switch (message)
        {
            case GoodbyeMessage goodbye:
                _goodbye = true;
                NoteIdle();
                LogGoodbye(_logger, Uri.ToString(), goodbye.Message);
                break;
            case ParametersChangedMessage changed:
                ParametersChanged?.Invoke(changed.Model, changed.Version);
                break;
            case ErrorMessage { Id: 0 } error:
                _failure = error.ToException();
                throw new MaasProtocolException(error.Code, error.Message);
            case MaasResponse or StreamChunkMessage or StreamEndMessage or ErrorMessage:
                Deliver(message);
                break;
            default:
                throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A server may not send {message.Type}.");
        }

        return ValueTask.CompletedTask;
    }

    private void Deliver(MaasMessage message)
    {
        bool final = message is not StreamChunkMessage;
        PendingCall? call;
        bool found = final ? RemovePending(message.Id, out call) : _pending.TryGetValue(message.Id, out call);
        if (found)
        {
            // Only the last call in flight resumes on the receiving thread: while others wait, their
            // answers are due, and the receiver had better go on reading than hand itself over.
            call!.Complete(message, resumeOnReceiver: PendingCalls == 0);
            return;
        }

        // A late answer to a call that was cancelled or timed out.
        switch (message)
        {
            case MaasResponse r: r.Y?.Dispose(); break;
            case StreamChunkMessage c: c.Rows.Dispose(); break;
        }
    }

    private ValueTask OnOversizedAsync(MessageType type, uint id, long length)
    {
        if (id != 0)
        {
            if (RemovePending(id, out var call))
            {
                call.Fail(new MaasException(MaasErrorCode.ResourceExhausted, $"The server's {type} is {length} bytes; this client accepts frames up to {_options.MaxFrameBytes} bytes (MaasClientOptions.MaxFrameBytes)."));
                _ = TrySendCancelAsync(id);
            }

            // Otherwise a late answer to a call already given up: skipped like any late answer.
            return ValueTask.CompletedTask;
        }

        throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A {type} frame of {length} bytes is over the limit of {_options.MaxFrameBytes} bytes.");
    }

    private ValueTask OnInvalidAsync(MaasProtocolException error)
    {
        if (RemovePending(error.RequestId, out var call))
        {
            call.Fail(new MaasException(error.Code, error.Message));
            _ = TrySendCancelAsync(error.RequestId);
        }

        return ValueTask.CompletedTask;
    }

    private void FailAll()
    {
        var failure = _failure as MaasException;
        var error = new MaasException(
            failure?.Code is MaasErrorCode.ProtocolError or MaasErrorCode.VersionMismatch ? failure.Code : MaasErrorCode.Unavailable,
            failure?.Message ?? $"The connection to {Uri} closed.");
        foreach (var id in _pending.Keys)
        {
            if (RemovePending(id, out var call))
            {
                call.Fail(error);
            }
        }

        NoteIdle();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Protocol error from {Uri}: {Reason}")]
    private static partial void LogProtocolError(ILogger logger, string uri, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Uri} is shutting down: {Reason}")]
    private static partial void LogGoodbye(ILogger logger, string uri, string reason);

    /// <summary>One call's slot and cancellation watcher; disposing releases both.</summary>
    private sealed class CallScope : IDisposable
    {
        private readonly ClientConnection _connection;
        private readonly CancellationTokenRegistration _onCancel;

        public CallScope(ClientConnection connection, PendingCall pending, CancellationToken cancellationToken)
        {
            _connection = connection;
            Pending = pending;

            // Last: a token cancelled already runs the callback here, which needs the fields above.
            _onCancel = cancellationToken.UnsafeRegister(static (s, token) => ((CallScope)s!).Abandon(token), this);
        }

        public PendingCall Pending { get; }

        // Waits for a cancellation callback that is running on another thread (it is short: it
        // completes the call and queues a Cancel); from within that callback it does not wait.
        public void Dispose()
        {
            _onCancel.Dispose();
            _connection._slots.Release();
            _connection.NoteIdle();
        }

        private void Abandon(CancellationToken token) => _connection.Abandon(Pending, token);
    }
}
