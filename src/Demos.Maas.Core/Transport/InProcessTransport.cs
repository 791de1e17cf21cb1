using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace Demos.Maas.Transport;

/// <summary>
/// <c>inproc://name</c>: client and server in one process joined by in-memory pipes. It runs the
/// full protocol (framing, codec, concurrency) without a socket, for in-process hosting and tests.
/// Names are process-wide.
/// </summary>
public sealed class InProcessTransport : IMaasConnectionFactory, IMaasListenerFactory
{
    private static readonly ConcurrentDictionary<string, Listener> Listeners = new(StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => string.Equals(uri?.Scheme, "inproc", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        string name = NameOf(uri);
        if (!Listeners.TryGetValue(name, out var listener))
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Nothing listens on inproc://{name}.");
        }

        var options = new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        var client = new PipeConnection(new Duplex(toClient.Reader, toServer.Writer), $"inproc://{name}");
        var server = new PipeConnection(new Duplex(toServer.Reader, toClient.Writer), "inproc-client");
        if (!listener.Pending.Writer.TryWrite(server))
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"inproc://{name} is closed.");
        }

        return ValueTask.FromResult<MaasConnection>(client);
    }

    /// <inheritdoc/>
    public ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        string name = NameOf(uri);
        var listener = new Listener(name, new Uri($"inproc://{name}"));
        if (!Listeners.TryAdd(name, listener))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"inproc://{name} is already bound in this process.");
        }

        return ValueTask.FromResult<IMaasListener>(listener);
    }

    private static string NameOf(Uri uri)
    {
        string name = uri.IsDefaultPort || uri.Port < 0 ? uri.Host : uri.Authority;
        if (string.IsNullOrEmpty(name))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' has no name; use inproc://name.");
        }

        return name;
    }

    private sealed class Listener(string name, Uri uri) : IMaasListener
    {
        public Channel<MaasConnection> Pending { get; } = Channel.CreateUnbounded<MaasConnection>();

        public Uri Uri { get; } = uri;

        public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await Pending.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            Listeners.TryRemove(new KeyValuePair<string, Listener>(name, this));
            Pending.Writer.TryComplete();
            while (Pending.Reader.TryRead(out var unaccepted))
            {
                await unaccepted.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private sealed class PipeConnection(IDuplexPipe pipe, string remote) : MaasConnection
    {
        private int _closed;

        public override IDuplexPipe Transport => pipe;

        public override string RemoteAddress => remote;

        public override void Abort() => Close();

        public override ValueTask DisposeAsync()
        {
            Close();
            return ValueTask.CompletedTask;
        }

        // Completing our writer ends the peer's reads; completing our reader makes the peer's writes see IsCompleted.
        private void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                pipe.Output.Complete();
                pipe.Input.Complete();
            }
        }
    }
}
