using System.Net.Sockets;
using System.Threading.Channels;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// Accepts a listening socket's connections on a thread of its own that blocks in accept, and
/// continues the waiting <see cref="AcceptAsync"/> on that thread. A client that connects for every
/// call (UM-Bridge's C++ client, Python's <c>requests.post</c> without a session) then waits for
/// one thread wake-up before its connection is taken, instead of the runtime's I/O thread noticing
/// the listening socket and handing the accept to a pool thread.
/// </summary>
internal sealed class AcceptingThread
{
    private readonly Socket _listening;
    private readonly Channel<Socket> _accepted = Channel.CreateUnbounded<Socket>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = true });

    /// <param name="listening">The bound, listening socket; closing it ends the thread.</param>
    public AcceptingThread(Socket listening)
    {
        _listening = listening;
        listening.Blocking = true;
        new Thread(Run) { IsBackground = true, Name = "maas http accept" }.UnsafeStart();
    }

    /// <summary>The next accepted connection, or null once the listening socket was closed.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public async ValueTask<Socket?> AcceptAsync(CancellationToken cancellationToken)
    {
        while (await _accepted.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_accepted.Reader.TryRead(out var socket))
            {
                return socket;
            }
        }

        return null;
    }

    /// <summary>Closes the connections accepted but not yet taken (after the listening socket was closed).</summary>
    public void CloseUntaken()
    {
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var socket))
        {
            socket.Dispose();
        }
    }

    private void Run()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = _listening.Accept();
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The client gave up before we accepted it; wait for the next one.
                continue;
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
            {
                // The listening socket was closed.
                _accepted.Writer.TryComplete();
                return;
            }

            if (!_accepted.Writer.TryWrite(accepted))
            {
                accepted.Dispose();
                return;
            }
        }
    }
}
