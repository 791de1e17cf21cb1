using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Mpi;

/// <summary>
/// A byte connection to one peer rank over MPI messages: what the client or server writes is sent
/// as MPI messages (a flush of the pipe becomes one message, so protocol frames travel whole), and
/// messages from the peer are written into the pipe the other side reads. One copy each way, from
/// the pipe into the message buffer and back.
/// </summary>
internal sealed class MpiEndpoint : MaasConnection
{
    private const int MaxMessageBytes = 16 * 1024 * 1024;

    private readonly MpiRuntime _runtime;
    private readonly Pipe _incoming = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Pipe _outgoing = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Channel<byte[]?> _received = Channel.CreateUnbounded<byte[]?>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Task _sendLoop;
    private readonly Task _receiveLoop;
    private int _closed;

    public MpiEndpoint(MpiRuntime runtime, nint communicator, int peer, string name)
    {
        _runtime = runtime;
        Communicator = communicator;
        Peer = peer;
        RemoteAddress = name;
        Transport = new Duplex(_incoming.Reader, _outgoing.Writer);
        _sendLoop = Task.Run(SendLoopAsync);
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public nint Communicator { get; }

    public int Peer { get; }

    public override IDuplexPipe Transport { get; }

    public override string RemoteAddress { get; }

    /// <summary>Called on the MPI thread for every message from the peer.</summary>
    public void Deliver(int tag, byte[] data) => _received.Writer.TryWrite(tag == MpiRuntime.CloseTag ? null : data);

    public override void Abort()
    {
        _outgoing.Writer.Complete();
        _received.Writer.TryWrite(null);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await _outgoing.Writer.CompleteAsync().ConfigureAwait(false);
        await _sendLoop.ConfigureAwait(false);
        _received.Writer.TryWrite(null);
        await _receiveLoop.ConfigureAwait(false);
        _runtime.Forget(this);
    }

    private async Task SendLoopAsync()
    {
        var reader = _outgoing.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    // A pooled message buffer, returned once MPI has sent it: no allocation per message.
                    var part = buffer.Slice(0, Math.Min(buffer.Length, MaxMessageBytes));
                    int length = (int)part.Length;
                    byte[] message = ArrayPool<byte>.Shared.Rent(length);
                    try
                    {
                        part.CopyTo(message);
                        await _runtime.SendAsync(Communicator, Peer, MpiRuntime.DataTag, message, length).ConfigureAwait(false);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(message);
                    }

                    buffer = buffer.Slice(part.End);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (MaasException)
        {
            // The peer or MPI is gone; the receive side reports it to the reader.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            try
            {
                await _runtime.SendAsync(Communicator, Peer, MpiRuntime.CloseTag, [], 0).ConfigureAwait(false);
            }
            catch (MaasException)
            {
                // Nothing to tell a peer that cannot be reached.
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var writer = _incoming.Writer;
        try
        {
            await foreach (var data in _received.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (data is null)
                {
                    break;
                }

                var flush = await writer.WriteAsync(data).ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            await writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
