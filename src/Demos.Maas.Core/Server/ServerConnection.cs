using Demos.Maas.Protocol;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Server;

/// <summary>The server's side of one connection: handshake, request dispatch, cancellation, limits.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The channel is disposed when RunAsync ends; the token source owns no timer.")]
internal sealed partial class ServerConnection
{
    private readonly MaasServer _server;
    private readonly MaasConnection _connection;
    private readonly FrameChannel _channel;
    private readonly ILogger _logger;
    private readonly ActiveCalls _active = new();
    private readonly CallTracker _calls = new();
    private readonly CallPool _pool = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly int _maxInFlight;
    private bool _welcomed;

    // The durations series of the model and operation this connection last started a call of
    // (only the read loop starts calls).
    private CallDurations.Recent _recentDurations;

    private IdleWatch? _idle;
    private string? _credentials;
    private System.Security.Claims.ClaimsPrincipal? _user;

    public ServerConnection(MaasServer server, MaasConnection connection, ILogger logger)
    {
        _server = server;
        _connection = connection;
        _logger = logger;
        _maxInFlight = server.Options.MaxInFlightPerConnection;
        var limits = server.Options.Limits;
        // Until the handshake a frame can only be a Hello: a peer that has not said who it is may not make the server buffer megabytes.
        _channel = new FrameChannel(connection, Math.Min(limits.MaxHelloBytes, server.Options.MaxFrameBytes))
        {
            Budget = new WriteBudget(limits.MaxQueuedWriteBytes, limits.WriteTimeout, OnWriteStalled),
            FrameReadTimeout = limits.FrameReadTimeout,
        };
        _channel.RequestFactory = _pool.RentRequest;
    }

    public string RemoteAddress => _connection.RemoteAddress;

    public int InFlight => _calls.Running;

    public async Task RunAsync()
    {
        using var handshakeTimer = new CancellationTokenSource(_server.Options.HandshakeTimeout);
        using var onTimeout = handshakeTimer.Token.Register(() =>
        {
            if (!_welcomed)
            {
                LogHandshakeTimeout(_logger, RemoteAddress);
                _connection.Abort();
            }
        });
        using var idle = _idle = new IdleWatch(_server.Options.Limits.IdleTimeout, () => _calls.Running > 0, OnIdle);

        // One registration per connection, not two per call: closing the connection or stopping the
        // server cancels every call still running on it.
        using var onClosed = _closed.Token.UnsafeRegister(static s => ((ServerConnection)s!).CancelAll(CallEndReason.Caller), this);
        using var onShutdown = _server.ShutdownToken.UnsafeRegister(static s => ((ServerConnection)s!).CancelAll(CallEndReason.Shutdown), this);
        try
        {
            await _channel.ReadLoopAsync(OnMessageAsync, OnOversizedAsync, OnInvalidAsync, _closed.Token).ConfigureAwait(false);
        }
        catch (MaasProtocolException ex)
        {
            LogProtocolError(_logger, RemoteAddress, ex.Message);
            // protocol.md §12: nothing follows an Error id 0 (running streams stop sending), and
            // the unread input is drained so closing does not reset the connection under the Error.
            await _channel.TrySendLastAsync(new ErrorMessage { Code = MaasErrorCode.ProtocolError, Message = ex.Message }).ConfigureAwait(false);
            await _channel.DrainInputAsync(TimeSpan.FromSeconds(2), 1 << 20).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            LogReadTimeout(_logger, RemoteAddress, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // The peer went away or the server closed us; running calls are cancelled below.
        }
        finally
        {
            await _closed.CancelAsync().ConfigureAwait(false);
            using (var settle = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            {
                await _calls.WhenIdleAsync(settle.Token).ConfigureAwait(false);
            }

            await _channel.CloseOutputAsync().ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
            _channel.Dispose();
        }
    }

    /// <summary>Tells the client the server is draining.</summary>
    public ValueTask SendGoodbyeAsync() =>
        _welcomed ? _channel.TrySendAsync(new GoodbyeMessage { Code = MaasErrorCode.Unavailable, Message = "The server is shutting down." }) : ValueTask.CompletedTask;

    /// <summary>Sends Goodbye, or gives up after <paramref name="timeout"/> (a client that does not read keeps the write lock).</summary>
    public async Task SendGoodbyeAsync(TimeSpan timeout)
    {
        try
        {
            await SendGoodbyeAsync().AsTask().WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The close below aborts the connection if it is still stuck.
        }
    }

    /// <summary>Closes after the frames already written, and aborts the connection when that takes longer than <paramref name="timeout"/>.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        try
        {
            await CloseAsync().WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogCloseAborted(_logger, RemoteAddress);
            _connection.Abort();
        }
    }

    private void OnIdle()
    {
        LogIdle(_logger, RemoteAddress);
        _connection.Abort();
    }

    private void OnWriteStalled()
    {
        LogWriteStalled(_logger, RemoteAddress);
        _closed.Cancel();
        _connection.Abort();
    }

    /// <summary>Tells the client a model's parameters changed (fire and forget; order with responses does not matter).</summary>
    public void NotifyParametersChanged(Guid model, long version)
    {
        if (_welcomed && !_closed.IsCancellationRequested)
        {
            _ = _channel.TrySendAsync(new ParametersChangedMessage { Model = model, Version = version }).AsTask();
        }
    }

    /// <summary>Closes the connection after the frames already written.</summary>
    public async Task CloseAsync()
    {
        await _channel.CloseOutputAsync().ConfigureAwait(false);
        _channel.CompleteInput();
        _connection.Abort();
    }

    private async ValueTask OnMessageAsync(MaasMessage message)
    {
        _idle?.Touch();
        if (!_welcomed)
        {
            await HandshakeAsync(message).ConfigureAwait(false);
            return;
        }

        switch (message)
        {
            case MaasRequest request:
                await StartRequestAsync(request).ConfigureAwait(false);
                break;
            case CancelMessage cancel:
                _active.Find(cancel.Id)?.Cancel(CallEndReason.Caller);

                break;
            default:
                throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A client may not send {message.Type} after the handshake.");
        }
    }

    private async ValueTask HandshakeAsync(MaasMessage message)
    {
        if (message is not HelloMessage hello)
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"The first frame must be Hello; got {message.Type}.");
        }

        var ours = ProtocolVersion.Current;
        if (hello.Version.Major != ours.Major)
        {
            string text = $"The server speaks protocol {ours.Major}.x; the client offered {hello.Version}.";
            LogVersionMismatch(_logger, RemoteAddress, hello.Version.ToString());
            await _channel.TrySendAsync(new ErrorMessage { Code = MaasErrorCode.VersionMismatch, Message = text }).ConfigureAwait(false);
            throw new OperationCanceledException(text);
        }

        if (hello.MaxFrameBytes > 0)
        {
            _channel.MaxOutgoingFrameBytes = (int)Math.Min(hello.MaxFrameBytes, int.MaxValue);
        }

        try
        {
            // Authenticated once, at the handshake: a refused client gets no Welcome and learns nothing about the models.
            _user = _server.Authenticate(hello.Credentials, _connection.PeerIdentity);
        }
        catch (MaasException refused)
        {
            LogRefused(_logger, RemoteAddress);
            await _channel.TrySendLastAsync(new ErrorMessage { Code = refused.Code, Message = refused.Message }).ConfigureAwait(false);
            await _channel.DrainInputAsync(TimeSpan.FromSeconds(2), 1 << 20).ConfigureAwait(false);
            throw new OperationCanceledException(refused.Message);
        }

        _welcomed = true;
        _channel.MaxIncomingFrameBytes = _server.Options.MaxFrameBytes;
        // Holding an answer's flush back saves a system call per answer where a flush is one; where
        // it is not, it only keeps the answer from the client longer (and costs the flush a second
        // turn of the write lock).
        _channel.FlushAfterReadBatch = !_connection.FlushesWithoutSystemCall;

        // The first codec the client offers that this server accepts; the client's order is its preference.
        var codec = hello.Features.Select(FrameCompressor.FromFeature).FirstOrDefault(c => c != MaasCompression.None && _server.Options.Compression.Contains(c));
        try
        {
            await _channel.SendAsync(new WelcomeMessage
            {
                Version = new ProtocolVersion(ours.Major, Math.Min(ours.Minor, hello.Version.Minor)),
                Agent = _server.Options.Agent,
                MaxFrameBytes = (uint)_server.Options.MaxFrameBytes,
                MaxInFlight = (uint)_maxInFlight,
                Features = codec == MaasCompression.None ? [] : [FrameCompressor.FeatureName(codec)],
            }).ConfigureAwait(false);
            if (codec != MaasCompression.None)
            {
                _channel.Compressor = new FrameCompressor(codec, _server.Options.CompressionThresholdBytes);
            }
        }
        catch (MaasException tooSmall) when (tooSmall.Code == MaasErrorCode.ResourceExhausted)
        {
            // Closed with a reason (an Error id 0, shortened to fit) instead of silently.
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"The client's max_frame of {hello.MaxFrameBytes} bytes cannot hold the Welcome.");
        }

        _credentials = hello.Credentials;
        LogConnected(_logger, RemoteAddress, hello.Agent);
        if (_server.IsDraining)
        {
            await SendGoodbyeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask OnOversizedAsync(MessageType type, uint id, long length)
    {
        LogOversized(_logger, RemoteAddress, length, _channel.MaxIncomingFrameBytes);
        if (type is not (MessageType.Request or MessageType.Compressed) || id == 0 || !_welcomed)
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A {type} frame of {length} bytes is over the limit of {_channel.MaxIncomingFrameBytes} bytes{(_welcomed ? "" : " before the handshake")}.");
        }

        if (_active.Contains(id))
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"Request id {id} is already in flight.");
        }

        await _channel.TrySendAsync(Error(id, MaasErrorCode.ResourceExhausted, $"The request is {length} bytes; this server accepts frames up to {_server.Options.MaxFrameBytes} bytes. Split the batch.")).ConfigureAwait(false);
    }

    private async ValueTask OnInvalidAsync(MaasProtocolException ex)
    {
        if (!_welcomed)
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, ex.Message);
        }

        if (_active.Contains(ex.RequestId))
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"Request id {ex.RequestId} is already in flight.");
        }

        await _channel.TrySendAsync(Error(ex.RequestId, ex.Code, ex.Message)).ConfigureAwait(false);
    }

    private static void DisposeInputs(MaasRequest request)
    {
        request.X?.Dispose();
        request.Vector?.Dispose();
    }

    private static ErrorMessage Error(uint id, MaasErrorCode code, string message) => new() { Id = id, Code = code, Message = message };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Remote} connected ({Agent})")]
    private static partial void LogConnected(ILogger logger, string remote, string agent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Protocol error from {Remote}: {Reason}; closing the connection")]
    private static partial void LogProtocolError(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Remote} sent no Hello in time; closing the connection")]
    private static partial void LogHandshakeTimeout(ILogger logger, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Remote} presented no accepted credentials; refused")]
    private static partial void LogRefused(ILogger logger, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Remote} offered protocol {Version}; refused")]
    private static partial void LogVersionMismatch(ILogger logger, string remote, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Remote} sent a frame of {Length} bytes (limit {Limit}); skipped")]
    private static partial void LogOversized(ILogger logger, string remote, long length, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Remote} accepted no bytes within the write timeout; closing the connection")]
    private static partial void LogWriteStalled(ILogger logger, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Remote} stalled inside a frame: {Reason}; closing the connection")]
    private static partial void LogReadTimeout(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Remote} was idle for the idle timeout; closing the connection")]
    private static partial void LogIdle(ILogger logger, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the connection to {Remote} took longer than the close timeout; aborted")]
    private static partial void LogCloseAborted(ILogger logger, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Operation} on '{Model}' failed with {Code}: {Reason}")]
    private static partial void LogCallFailed(ILogger logger, string operation, string model, string code, string reason);
}
