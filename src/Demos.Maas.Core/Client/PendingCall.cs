using System.Threading.Channels;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;

namespace Demos.Maas.Client;

/// <summary>A request sent and not yet answered: completes a unary result or feeds a stream.</summary>
/// <remarks>
/// A unary call resumes its caller in one of three ways: on the read loop itself (inline
/// completions), on the connection's receiving thread after the read loop waits again (where the
/// input offers it, <see cref="IReceiverResumption"/>), or on the thread pool. For the last two the
/// call is settled once, by whichever of answer, failure or cancellation comes first, and the
/// settled outcome is what the caller sees wherever it resumes.
/// </remarks>
internal sealed class PendingCall : IThreadPoolWorkItem
{
    private readonly TaskCompletionSource<MaasResponse>? _unary;
    private readonly Channel<DoubleMatrix>? _stream;

    // Set when this call chooses where its caller resumes (the TCS runs continuations where it is completed).
    private readonly IReceiverResumption? _resumption;

    // Whether the thread pool has work queued that no pool thread has started yet.
    private readonly Func<bool> _poolHasQueuedWork;
    private int _settled;
    private MaasResponse? _result;
    private Exception? _error;
    private CancellationToken? _cancelledBy;

    /// <param name="id">The request's id.</param>
    /// <param name="streaming">A streaming call (its chunks go to <see cref="Chunks"/>).</param>
    /// <param name="inlineCompletion">The caller resumes on the read loop (<see cref="MaasClientOptions.InlineCompletions"/>).</param>
    /// <param name="resumption">The input's receiving thread, which may resume the caller.</param>
    /// <param name="poolHasQueuedWork">Whether the thread pool has work waiting for a thread (by default <see cref="ThreadPool.PendingWorkItemCount"/> &gt; 0).</param>
    public PendingCall(uint id, bool streaming, bool inlineCompletion, IReceiverResumption? resumption = null, Func<bool>? poolHasQueuedWork = null)
    {
        Id = id;
        _poolHasQueuedWork = poolHasQueuedWork ?? PoolHasQueuedWork;
        if (streaming)
        {
            _stream = Channel.CreateUnbounded<DoubleMatrix>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        }
        else if (inlineCompletion || resumption is null)
        {
            // Inline: the awaiting caller resumes on the read loop (MaasClientOptions.InlineCompletions).
            _unary = new TaskCompletionSource<MaasResponse>(inlineCompletion ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        }
        else
        {
            // Continuations run where the outcome is set: this call chooses the thread (Settle).
            _unary = new TaskCompletionSource<MaasResponse>();
            _resumption = resumption;
        }
    }

    private long _nextSequence;

    public uint Id { get; }

    public Task<MaasResponse> Response => _unary!.Task;

    public ChannelReader<DoubleMatrix> Chunks => _stream!.Reader;

    public ulong? ReportedSeed { get; private set; }

    public long ReceivedRows { get; private set; }

    /// <summary>
    /// Delivers an answer. <paramref name="resumeOnReceiver"/>: the caller may resume on the
    /// receiving thread, if the input offers it; else it resumes on the thread pool.
    /// </summary>
    public void Complete(MaasMessage message, bool resumeOnReceiver = true)
    {
        switch (message)
        {
            case MaasResponse response when _unary is not null:
                if (_resumption is not null)
                {
                    Settle(response, null, resumeOnReceiver);
                }
                else if (!_unary.TrySetResult(response))
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
            case ErrorMessage error when _resumption is not null:
                Settle(null, error.ToException(), resumeOnReceiver);
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
        if (_resumption is not null)
        {
            Settle(null, exception, resumeOnReceiver: false);
        }
        else
        {
            _unary?.TrySetException(exception);
        }

        _stream?.Writer.TryComplete(exception);
    }

    public void Cancelled(CancellationToken token)
    {
        if (_resumption is not null)
        {
            Settle(null, null, resumeOnReceiver: false, token);
        }
        else
        {
            _unary?.TrySetCanceled(token);
        }

        _stream?.Writer.TryComplete(new OperationCanceledException(token));
    }

    // The first outcome wins; the caller resumes on the receiving thread when it takes the call
    // (an answer the read loop just decoded), else on the thread pool, never on the thread that
    // failed or cancelled the call (a user's cancellation callback, a timer, a closing connection).
    // While the pool has work waiting, the caller queues behind it: resumed on the receiving thread
    // it would overtake that work, and a caller that calls again and again would keep doing so,
    // holding back every continuation of the process for as long as the pool lacks a free thread
    // (the pool adds threads slowly while the CPUs are busy, and those callers keep them busy).
    private void Settle(MaasResponse? result, Exception? error, bool resumeOnReceiver, CancellationToken? cancelledBy = null)
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            result?.Y?.Dispose();
            return;
        }

        _result = result;
        _error = error;
        _cancelledBy = cancelledBy;
        if (!resumeOnReceiver || _poolHasQueuedWork() || !_resumption!.TryResume(this))
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    private static bool PoolHasQueuedWork() => ThreadPool.PendingWorkItemCount > 0;

    /// <summary>Resumes the caller with the settled outcome (on the receiving thread or a pool thread).</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (_cancelledBy is { } token)
        {
            _unary!.TrySetCanceled(token);
        }
        else if (_error is not null)
        {
            _unary!.TrySetException(_error);
        }
        else
        {
            _unary!.TrySetResult(_result!);
        }
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
