using Demos.Maas.Protocol;

namespace Demos.Maas.Server;

/// <summary>
/// One call as the server runs it, whatever transport brought it: its cancellation token, its
/// deadline, and why it was cancelled. <see cref="Classify"/> turns whatever the call threw into
/// the error the caller receives, so the same failure gives the same code on every transport.
/// </summary>
internal sealed class ServerCall : IDisposable
{
    private CancellationTokenSource _cts = new();
    private Timer? _deadline;
    private CancellationTokenRegistration _onCaller;
    private CancellationTokenRegistration _onShutdown;
    private int _reason;

    public ServerCall(MaasRequest request, TimeSpan? timeout, CancellationToken caller, CancellationToken shutdown)
    {
        Request = request;
        Begin(timeout, caller, shutdown);
    }

    private ServerCall(MaasRequest request)
    {
        Request = request;
        Begin(timeout: null, CancellationToken.None, CancellationToken.None);
        Context = new MaasCallContext(request, isServer: true, _cts.Token);
    }

    /// <summary>
    /// A call of a framed server connection: it owns its context, and when it ends cleanly the
    /// connection may <see cref="Restart"/> it for a later request (framed connections pass no
    /// tokens; they cancel their calls themselves).
    /// </summary>
    public static ServerCall ForConnection(MaasRequest request) => new(request);

    /// <summary>The durations a connection's call is timed into (<see cref="CallDurations.Of(MaasRequest, ref CallDurations.Recent)"/>); null for streams.</summary>
    public CallDurations.Series? Durations { get; set; }

    /// <summary>The context a connection's call runs with; null for calls of <see cref="MaasServer.InvokeAsync"/>.</summary>
    public MaasCallContext? Context { get; }

    /// <summary>
    /// True when nothing of this call can still act on it: it ran without a deadline (a timer's
    /// callback may fire after the timer is disposed) and was never cancelled.
    /// </summary>
    public bool Recyclable => Context is not null && _deadline is null && Volatile.Read(ref _reason) == 0;

    /// <summary>Reuses this call, which ended and was <see cref="Recyclable"/>, for <paramref name="request"/>.</summary>
    public void Restart(MaasRequest request)
    {
        Request = request;
        Volatile.Write(ref _reason, 0);
        if (!_cts.TryReset())
        {
            // Cancelled after it ended (a late Cancel for its old id): a fresh source, not a cancelled one.
            _cts.Dispose();
            _cts = new CancellationTokenSource();
        }

        Begin(timeout: null, CancellationToken.None, CancellationToken.None);
        Context!.Reset(request, _cts.Token);
    }

    private void Begin(TimeSpan? timeout, CancellationToken caller, CancellationToken shutdown)
    {
        Timeout = timeout is { } given ? (given.TotalMilliseconds < uint.MaxValue - 1 ? given : null) : FromMicros(Request.TimeoutMicros);
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

        if (caller.CanBeCanceled)
        {
            _onCaller = caller.UnsafeRegister(static s => ((ServerCall)s!).Cancel(CallEndReason.Caller), this);
        }

        if (shutdown.CanBeCanceled)
        {
            _onShutdown = shutdown.UnsafeRegister(static s => ((ServerCall)s!).Cancel(CallEndReason.Shutdown), this);
        }
    }

    public MaasRequest Request { get; private set; }

    public TimeSpan? Timeout { get; private set; }

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

    /// <summary>Ends the call: its deadline and its registrations go; its token source stays for a restart.</summary>
    public void End()
    {
        _onCaller.Dispose();
        _onCaller = default;
        _onShutdown.Dispose();
        _onShutdown = default;
        _deadline?.Dispose();
    }

    public void Dispose()
    {
        End();
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
