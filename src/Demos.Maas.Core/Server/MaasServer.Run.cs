using System.Runtime.InteropServices;

namespace Demos.Maas.Server;

/// <summary>Running a server from <c>Main</c>: block until asked to stop, then drain.</summary>
public sealed partial class MaasServer
{
    /// <summary>
    /// Listens on every URI in <see cref="MaasServerOptions.Listen"/> (and keeps those already
    /// opened with <see cref="ListenAsync(string, CancellationToken)"/>), then blocks until
    /// <see cref="WaitForShutdownAsync"/> returns: the usual last line of a server's <c>Main</c>.
    /// </summary>
    /// <param name="cancellationToken">Stops the server when cancelled.</param>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        await WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Blocks until <paramref name="cancellationToken"/> is cancelled, the process receives SIGINT
    /// (Ctrl+C) or SIGTERM, or <see cref="StopAsync"/> is called elsewhere; then stops gracefully
    /// (running calls drain, new ones get Unavailable) and returns. The signals do not end the
    /// process while this waits, so the drain finishes before <c>Main</c> returns.
    /// </summary>
    /// <param name="cancellationToken">Stops the server when cancelled.</param>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        using var sigint = RegisterSignal(PosixSignal.SIGINT, shutdown);
        using var sigterm = RegisterSignal(PosixSignal.SIGTERM, shutdown);
        try
        {
            await Task.Delay(Timeout.Infinite, shutdown.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Asked to stop: fall through to the drain.
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private static PosixSignalRegistration? RegisterSignal(PosixSignal signal, CancellationTokenSource shutdown)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                shutdown.Cancel();
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null; // e.g. WASI or a browser: only the token and StopAsync stop the server there.
        }
    }
}
