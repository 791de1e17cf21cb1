using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Client;

public sealed partial class MaasClient
{
    private async Task<MaasResponse> CallAsync(MaasRequest request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        PendingCall? pending = null;
        CancellationTokenSource? deadline = null;
        CancellationTokenRegistration onCancel = default, onDeadline = default;
        try
        {
            pending = await SendRequestAsync(request, streaming: false, timeout, cancellationToken).ConfigureAwait(false);
            var call = pending;
            onCancel = cancellationToken.UnsafeRegister(static (s, token) => ((State)s!).Client.Abandon(((State)s).Call, null, token), new State(this, call));
            if (timeout is { } t)
            {
                deadline = new CancellationTokenSource(t);
                onDeadline = deadline.Token.UnsafeRegister(static s => ((State)s!).Client.Abandon(((State)s).Call, DeadlineExceeded(((State)s).Timeout), default), new State(this, call, t));
            }

            return await pending.Response.ConfigureAwait(false);
        }
        finally
        {
            await onCancel.DisposeAsync().ConfigureAwait(false);
            await onDeadline.DisposeAsync().ConfigureAwait(false);
            deadline?.Dispose();
            _slots.Release();
        }
    }

    private async IAsyncEnumerable<DoubleMatrix> StreamAsync(MaasRequest request, TimeSpan? timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        PendingCall? pending = null;
        CancellationTokenSource? deadline = null;
        CancellationTokenRegistration onCancel = default, onDeadline = default;
        try
        {
            pending = await SendRequestAsync(request, streaming: true, timeout, cancellationToken).ConfigureAwait(false);
            var call = pending;
            onCancel = cancellationToken.UnsafeRegister(static (s, token) => ((State)s!).Client.Abandon(((State)s).Call, null, token), new State(this, call));
            if (timeout is { } t)
            {
                deadline = new CancellationTokenSource(t);
                onDeadline = deadline.Token.UnsafeRegister(static s => ((State)s!).Client.Abandon(((State)s).Call, DeadlineExceeded(((State)s).Timeout), default), new State(this, call, t));
            }

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
            await onCancel.DisposeAsync().ConfigureAwait(false);
            await onDeadline.DisposeAsync().ConfigureAwait(false);
            deadline?.Dispose();
            if (pending is not null)
            {
                // The consumer stopped early: tell the server to stop producing.
                if (_pending.TryRemove(pending.Id, out _))
                {
                    _ = TrySendCancelAsync(pending.Id);
                }

                pending.Drain();
            }

            _slots.Release();
        }
    }

    private async ValueTask<PendingCall> SendRequestAsync(MaasRequest request, bool streaming, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        uint id = NextId();
        var pending = new PendingCall(id, streaming);
        request.Id = id;
        request.TimeoutMicros = timeout is { } t ? (long)Math.Max(1, t.TotalMicroseconds) : null;
        _pending[id] = pending;
        try
        {
            ThrowIfUnusable();
            await _channel.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            _pending.TryRemove(id, out _);
            throw;
        }

        return pending;
    }

    private void Abandon(PendingCall call, MaasException? error, CancellationToken token)
    {
        if (!_pending.TryRemove(call.Id, out _))
        {
            return;
        }

        if (error is not null)
        {
            call.Fail(error);
        }
        else
        {
            call.Cancelled(token);
        }

        _ = TrySendCancelAsync(call.Id);
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

    private static MaasException DeadlineExceeded(TimeSpan timeout) =>
        new(MaasErrorCode.DeadlineExceeded, $"The deadline of {timeout.TotalMilliseconds:0.###} ms passed.");

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
                LogGoodbye(_logger, Uri.ToString(), goodbye.Message);
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
        bool found = final ? _pending.TryRemove(message.Id, out call) : _pending.TryGetValue(message.Id, out call);
        if (found)
        {
            call!.Complete(message);
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
        if (id != 0 && _pending.TryRemove(id, out var call))
        {
            call.Fail(new MaasException(MaasErrorCode.ResourceExhausted, $"The server's {type} is {length} bytes; this client accepts frames up to {_options.MaxFrameBytes} bytes (MaasClientOptions.MaxFrameBytes)."));
            return ValueTask.CompletedTask;
        }

        throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"A {type} frame of {length} bytes is over the limit of {_options.MaxFrameBytes} bytes.");
    }

    private ValueTask OnInvalidAsync(MaasProtocolException error)
    {
        if (_pending.TryRemove(error.RequestId, out var call))
        {
            call.Fail(new MaasException(error.Code, error.Message));
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
            if (_pending.TryRemove(id, out var call))
            {
                call.Fail(error);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Protocol error from {Uri}: {Reason}")]
    private static partial void LogProtocolError(ILogger logger, string uri, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Uri} is shutting down: {Reason}")]
    private static partial void LogGoodbye(ILogger logger, string uri, string reason);

    private sealed record State(MaasClient Client, PendingCall Call, TimeSpan Timeout = default);
}
