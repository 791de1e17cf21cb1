using Demos.Maas.Protocol;

namespace Demos.Maas.Server;

/// <summary>
/// One call as the server runs it, whatever transport brought it: its cancellation token, its
/// deadline, and why it was cancelled. <see cref="Classify"/> turns whatever the call threw into
/// the error the caller receives, so the same failure gives the same code on every transport.
/// </summary>
internal sealed class ServerCall : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly Timer? _deadline;
    private CancellationTokenRegistration _onCaller;
    private CancellationTokenRegistration _onShutdown;
    private int _reason;

    public ServerCall(MaasRequest request, TimeSpan? timeout, CancellationToken caller, CancellationToken shutdown)
    {
        Request = request;
        Timeout = timeout is { } given ? (given.TotalMilliseconds < uint.MaxValue - 1 ? given : null) : FromMicros(request.TimeoutMicros);
        if (Timeout is { } t)
        {
            if (t <= TimeSpan.Zero)
            {
                // docs/protocol.md §11: a budget of 0 has already expired; the model is not called.
                Cancel(CallEndReason.Deadline);
            }
            else
            {
                _deadline = new Timer(static s => ((ServerCall)s!).Cancel(CallEndReason.Deadline), this, t, System.Threading.Timeout.InfiniteTimeSpan);
            }
        }

        // Framed connections pass no tokens and cancel their calls themselves (one registration per connection).
        if (caller.CanBeCanceled)
        {
            _onCaller = caller.UnsafeRegister(static s => ((ServerCall)s!).Cancel(CallEndReason.Caller), this);
        }

        if (shutdown.CanBeCanceled)
        {
            _onShutdown = shutdown.UnsafeRegister(static s => ((ServerCall)s!).Cancel(CallEndReason.Shutdown), this);
        }
    }

    public MaasRequest Request { get; }

    public TimeSpan? Timeout { get; }

    public CancellationToken Token => _cts.Token;

    /// <summary>Cancels the call for <paramref name="reason"/>; the first reason given is the one reported.</summary>
    public void Cancel(CallEndReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, 0) == 0)
        {
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call finished in the meantime.
            }
        }
    }

    /// <summary>The error the caller receives for <paramref name="exception"/>.</summary>
    public MaasException Classify(Exception exception)
    {
        var reason = (CallEndReason)Volatile.Read(ref _reason);
        if (reason != CallEndReason.None && exception is OperationCanceledException or MaasException { Code: MaasErrorCode.Cancelled })
        {
            return reason switch
            {
                CallEndReason.Deadline => new MaasException(MaasErrorCode.DeadlineExceeded, $"The deadline of {Timeout?.TotalMilliseconds:0.###} ms passed."),
                CallEndReason.Shutdown => new MaasException(MaasErrorCode.Unavailable, "The server shut down during the call."),
                _ => new MaasException(MaasErrorCode.Cancelled, "Cancelled by the client."),
            };
        }

        return exception switch
        {
            MaasException maas => maas,
            OperationCanceledException => new MaasException(MaasErrorCode.Cancelled, "The call was cancelled."),

            // A hand-written IModel threw something of its own: the model failed, not the server.
            _ => new MaasException(MaasErrorCode.ModelError, $"{Request.Model}.{Request.Operation} failed: {exception.Message}"),
        };
    }

    public void Dispose()
    {
        _onCaller.Dispose();
        _onShutdown.Dispose();
        _deadline?.Dispose();
        _cts.Dispose();
    }

    // Timers hold at most ~49 days; a longer budget is no deadline in practice.
    private static TimeSpan? FromMicros(long? micros) =>
        micros is { } m && m < (long)uint.MaxValue * 1000L - 1000L ? TimeSpan.FromMicroseconds(m) : null;
}

/// <summary>Why a server call was cancelled.</summary>
internal enum CallEndReason
{
    None = 0,
    Caller = 1,
    Deadline = 2,
    Shutdown = 3,
}
