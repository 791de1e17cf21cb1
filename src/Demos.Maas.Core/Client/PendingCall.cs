using System.Threading.Channels;
using Demos.Maas.Protocol;

namespace Demos.Maas.Client;

/// <summary>A request sent and not yet answered: completes a unary result or feeds a stream.</summary>
internal sealed class PendingCall
{
    private readonly TaskCompletionSource<MaasResponse>? _unary;
    private readonly Channel<DoubleMatrix>? _stream;

    public PendingCall(uint id, bool streaming, bool inlineCompletion)
    {
        Id = id;
        if (streaming)
        {
            _stream = Channel.CreateUnbounded<DoubleMatrix>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        }
        else
        {
            // Inline: the awaiting caller resumes on the read loop (MaasClientOptions.InlineCompletions).
            _unary = new TaskCompletionSource<MaasResponse>(inlineCompletion ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private long _nextSequence;

    public uint Id { get; }

    public Task<MaasResponse> Response => _unary!.Task;

    public ChannelReader<DoubleMatrix> Chunks => _stream!.Reader;

    public ulong? ReportedSeed { get; private set; }

    public long ReceivedRows { get; private set; }

    public void Complete(MaasMessage message)
    {
        switch (message)
        {
            case MaasResponse response when _unary is not null:
                if (!_unary.TrySetResult(response))
                {
                    response.Y?.Dispose();
                }

                break;
            case StreamChunkMessage chunk when _stream is not null:
                if (chunk.Sequence != _nextSequence++)
                {
                    chunk.Rows.Dispose();
                    _stream.Writer.TryComplete(new MaasException(MaasErrorCode.ProtocolError, $"Stream chunk {chunk.Sequence} arrived where {_nextSequence - 1} was due."));
                    break;
                }

                ReceivedRows += chunk.Rows.Rows;
                if (!_stream.Writer.TryWrite(chunk.Rows))
                {
                    chunk.Rows.Dispose();
                }

                break;
            case StreamEndMessage end when _stream is not null:
                ReportedSeed = end.Seed;
                if (end.TotalRows != ReceivedRows)
                {
                    _stream.Writer.TryComplete(new MaasException(MaasErrorCode.ProtocolError, $"The stream ended claiming {end.TotalRows} rows; {ReceivedRows} arrived."));
                }
                else
                {
                    _stream.Writer.TryComplete();
                }

                break;
            case ErrorMessage error:
                Fail(error.ToException());
                break;
            default:
                Fail(new MaasException(MaasErrorCode.ProtocolError, $"Unexpected {message.Type} for request {Id}."));
                break;
        }
    }

    public bool IsFinal(MaasMessage message) => message is not StreamChunkMessage;

    public void Fail(Exception exception)
    {
        _unary?.TrySetException(exception);
        _stream?.Writer.TryComplete(exception);
    }

    public void Cancelled(CancellationToken token)
    {
        _unary?.TrySetCanceled(token);
        _stream?.Writer.TryComplete(new OperationCanceledException(token));
    }

    /// <summary>Frees chunks nobody will read.</summary>
    public void Drain()
    {
        if (_stream is null)
        {
            return;
        }

        while (_stream.Reader.TryRead(out var chunk))
        {
            chunk.Dispose();
        }
    }
}
