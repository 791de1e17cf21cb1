using System.Buffers;
using System.IO.Pipelines;
using Demos.Maas.Transport;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// An in-process transport that drops server connections on a schedule: when the server is about
/// to flush frame number k (1 = Welcome) of connection number c (1-based) and the schedule says so,
/// the frame is discarded and the connection is cut. The server has done the work; the client
/// never hears the answer — the failure retries must survive.
/// </summary>
internal sealed class FlakyTransport(Func<int, int, bool> dropAt) : IMaasConnectionFactory, IMaasListenerFactory
{
    private readonly InProcessTransport _inner = new();
    private int _connections;

    public bool CanHandle(Uri uri) => uri.Scheme == "flaky";

    public int Drops => Volatile.Read(ref _drops);

    private int _drops;

    public ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default) =>
        _inner.ConnectAsync(new Uri("inproc://" + uri.Host), cancellationToken);

    public async ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default) =>
        new Listener(await _inner.BindAsync(new Uri("inproc://" + uri.Host), cancellationToken), uri, this);

    private sealed class Listener(IMaasListener inner, Uri uri, FlakyTransport owner) : IMaasListener
    {
        public Uri Uri { get; } = uri;

        public async ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            var connection = await inner.AcceptAsync(cancellationToken);
            return connection is null ? null : new Dropping(connection, Interlocked.Increment(ref owner._connections), owner);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class Dropping : MaasConnection
    {
        private readonly MaasConnection _inner;
        private readonly Pipe _pipe;

        public Dropping(MaasConnection inner, int index, FlakyTransport owner)
        {
            _inner = inner;
            _pipe = new Pipe(inner.Transport.Input, new DroppingWriter(inner.Transport.Output, index, owner, inner));
        }

        public override IDuplexPipe Transport => _pipe;

        public override void Abort() => _inner.Abort();

        public override ValueTask DisposeAsync() => _inner.DisposeAsync();

        private sealed class Pipe(PipeReader input, PipeWriter output) : IDuplexPipe
        {
            public PipeReader Input { get; } = input;

            public PipeWriter Output { get; } = output;
        }
    }

    // Holds each frame until its flush, so a dropped frame never reaches the inner pipe.
    private sealed class DroppingWriter(PipeWriter inner, int connection, FlakyTransport owner, MaasConnection toAbort) : PipeWriter
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _held = new();
        private int _flushes;
        private bool _dropped;

        public override void Advance(int bytes) => _held.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => _held.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _held.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            if (!_dropped)
            {
                inner.Complete(exception);
            }
        }

        public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            if (_dropped)
            {
                _held.Clear();
                return new FlushResult(isCanceled: false, isCompleted: true);
            }

            if (owner.Schedule(connection, ++_flushes))
            {
                _dropped = true;
                _held.Clear();
                Interlocked.Increment(ref owner._drops);
                toAbort.Abort();
                return new FlushResult(isCanceled: false, isCompleted: true);
            }

            inner.Write(_held.WrittenSpan);
            _held.Clear();
            return await inner.FlushAsync(cancellationToken);
        }
    }

    private bool Schedule(int connection, int flush) => dropAt(connection, flush);
}
