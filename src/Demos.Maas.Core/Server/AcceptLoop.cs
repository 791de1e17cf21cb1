using System.Net.Sockets;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Server;

/// <summary>
/// Accepts connections from one listener until the server stops. An accept error that says the
/// process or the kernel is momentarily out of something (descriptors, buffers, memory) pauses and
/// retries with a growing backoff, as nginx does, instead of ending the loop: the socket stays bound,
/// so ending would leave clients hanging in the backlog for good. While paused the listener reports
/// itself down (<see cref="IsAccepting"/>), so readiness probes can take the server out of rotation.
/// </summary>
internal sealed partial class AcceptLoop
{
    private readonly IMaasListener _listener;
    private readonly Func<MaasConnection, Task> _serve;
    private readonly ILogger _logger;
    private readonly TimeSpan _firstBackoff;
    private readonly TimeSpan _maxBackoff;
    private int _failing;

    public AcceptLoop(IMaasListener listener, Func<MaasConnection, Task> serve, ServerLimits limits, ILogger logger)
    {
        _listener = listener;
        _serve = serve;
        _logger = logger;
        _firstBackoff = limits.AcceptRetryDelay;
        _maxBackoff = limits.AcceptRetryMaxDelay;
    }

    public IMaasListener Listener => _listener;

    /// <summary>False while accepting fails (retrying) and once the loop has ended.</summary>
    public bool IsAccepting => Volatile.Read(ref _failing) == 0;

    /// <summary>Accept errors retried so far.</summary>
    public long TransientFailures { get; private set; }

    /// <summary>Accept errors that the loop retries: the process or kernel is out of a resource for now, or one client gave up.</summary>
    public static bool IsTransient(Exception ex) => ex is SocketException se && se.SocketErrorCode is
        SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.ConnectionAborted
        or SocketError.ConnectionReset or SocketError.SystemNotReady or SocketError.TryAgain or SocketError.Interrupted
        || ex is SocketException { NativeErrorCode: Emfile or Enfile or Enobufs or Enomem or Econnaborted }
        || ex is OutOfMemoryException;

    // Linux errno values; SocketError maps EMFILE to TooManyOpenSockets but not ENFILE or ENOMEM.
    private const int Enfile = 23;
    private const int Emfile = 24;
    private const int Enomem = 12;
    private const int Enobufs = 105;
    private const int Econnaborted = 103;

    public async Task RunAsync(CancellationToken stopping)
    {
        var backoff = _firstBackoff;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                MaasConnection? connection;
                try
                {
                    connection = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception ex) when (IsTransient(ex) && !stopping.IsCancellationRequested)
                {
                    TransientFailures++;
                    Volatile.Write(ref _failing, 1);
                    LogAcceptRetry(_logger, _listener.Uri.ToString(), ex.Message, (int)backoff.TotalMilliseconds);
                    try
                    {
                        await Task.Delay(backoff, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _maxBackoff.Ticks));
                    continue;
                }
                catch (Exception ex) when (ex is ObjectDisposedException or SocketException or IOException or InvalidOperationException)
                {
                    if (!stopping.IsCancellationRequested)
                    {
                        LogAcceptFailed(_logger, _listener.Uri.ToString(), ex.Message);
                    }

                    return;
                }

                if (connection is null)
                {
                    return;
                }

                if (Volatile.Read(ref _failing) != 0)
                {
                    Volatile.Write(ref _failing, 0);
                    backoff = _firstBackoff;
                    LogAcceptRecovered(_logger, _listener.Uri.ToString());
                }

                _ = _serve(connection);
            }
        }
        finally
        {
            Volatile.Write(ref _failing, 1);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Accepting on {Uri} failed: {Reason}; the listener is closed")]
    private static partial void LogAcceptFailed(ILogger logger, string uri, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Accepting on {Uri} failed: {Reason}; retrying in {DelayMs} ms (not ready meanwhile)")]
    private static partial void LogAcceptRetry(ILogger logger, string uri, string reason, int delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Accepting on {Uri} works again")]
    private static partial void LogAcceptRecovered(ILogger logger, string uri);
}
