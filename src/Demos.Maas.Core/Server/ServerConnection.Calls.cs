using Demos.Maas.Protocol;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Server;

/// <summary>The calls of a <see cref="ServerConnection"/>: admitting a request, running it, answering it.</summary>
internal sealed partial class ServerConnection
{
    private async ValueTask StartRequestAsync(MaasRequest request)
    {
        if (request.Id == 0)
        {
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, "Request id 0 is reserved for connection-level messages.");
        }

        if (_server.IsDraining)
        {
            DisposeInputs(request);
            await _channel.TrySendAsync(Error(request.Id, MaasErrorCode.Unavailable, "The server is shutting down; retry elsewhere or later.")).ConfigureAwait(false);
            return;
        }

        // Backpressure: while answers wait for a client that does not read them, read no more requests from it.
        await _channel.Budget!.WaitForRoomAsync(_closed.Token).ConfigureAwait(false);
        if (_calls.Running >= _maxInFlight)
        {
            DisposeInputs(request);
            await _channel.TrySendAsync(Error(request.Id, MaasErrorCode.ResourceExhausted, $"More than {_maxInFlight} requests in flight on one connection.")).ConfigureAwait(false);
            return;
        }

        var call = _pool.RentCall(request);
        if (!_active.TryAdd(request.Id, call))
        {
            call.Dispose();
            DisposeInputs(request);

            // An error with this id would be taken as the answer to the running call: close instead.
            throw new MaasProtocolException(MaasErrorCode.ProtocolError, $"Request id {request.Id} is already in flight.");
        }

        // A call added just after CancelAll swept the active calls is cancelled here.
        if (_server.ShutdownToken.IsCancellationRequested)
        {
            call.Cancel(CallEndReason.Shutdown);
        }
        else if (_closed.IsCancellationRequested)
        {
            call.Cancel(CallEndReason.Caller);
        }

        _calls.Enter();
        call.Durations = _server.CallDurations.Of(request, ref _recentDurations);
        if (_server.Options.InlineQuickCalls && call.Durations?.IsQuickFor(request) == true)
        {
            // A quick model's call costs less than the thread wake-up that queueing it would: run it
            // here (it yields back to the read loop at its first await that does not complete at once).
            _ = ProcessAsync(call);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Connection.ProcessAsync(state.Call), (Connection: this, Call: call), preferLocal: false);
        }
    }

    private async Task ProcessAsync(ServerCall call)
    {
        var request = call.Request;
        var context = call.Context!;
        context.Timeout = call.Timeout;
        context.CallerIdentity = _user?.Identity?.Name ?? _connection.PeerIdentity;
        context.Credentials = _credentials;
        context.User = _user;
        context.RemoteAddress = RemoteAddress;
        context.PeerMaxFrameBytes = _channel.MaxOutgoingFrameBytes;

        // Answered without a failure: nothing can still use the call, its context or its request.
        bool answered = false;
        try
        {
            var durations = call.Durations;
            bool timed = durations?.ShouldTime() == true;
            long started = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            await _server.RunAsync(call, context).ConfigureAwait(false);
            if (timed)
            {
                durations!.Add(System.Diagnostics.Stopwatch.GetTimestamp() - started);
            }

            if (context.Stream is { } stream)
            {
                long sequence = 0, rows = 0;
                var budget = _channel.Budget!;
                var chunks = stream.GetAsyncEnumerator(CancellationToken.None);
                try
                {
                    while (true)
                    {
                        // A chunk is computed only when the connection has room for it, by one of a few producers at a time.
                        await budget.EnterProducerAsync(call.Token).ConfigureAwait(false);
                        bool more;
                        try
                        {
                            more = await chunks.MoveNextAsync().ConfigureAwait(false);
                        }
                        finally
                        {
                            budget.ReleaseProducer();
                        }

                        if (!more)
                        {
                            break;
                        }

                        // SendAsync counts the chunk against the budget until it is written.
                        using var chunk = chunks.Current;
                        var sent = _channel.SendAsync(new StreamChunkMessage { Id = request.Id, Sequence = sequence++, Rows = chunk });
                        if (!sent.IsCompletedSuccessfully)
                        {
                            await sent.ConfigureAwait(false);

                            // Resumed by the write's completion, which may run on the socket's I/O
                            // thread (inline completions): the next chunk is computed on the pool.
                            await Task.Yield();
                        }

                        rows += chunk.Rows;
                    }
                }
                finally
                {
                    await chunks.DisposeAsync().ConfigureAwait(false);
                }

                _active.Remove(call);
                await _channel.SendAsync(new StreamEndMessage { Id = request.Id, TotalRows = rows, Seed = context.StreamSeed }).ConfigureAwait(false);
            }
            else
            {
                var response = context.Response ?? throw new MaasException(MaasErrorCode.Internal, "The pipeline produced no response.");
                response.Id = request.Id;

                // Forget the id before answering: a client may reuse it as soon as the answer arrives.
                _active.Remove(call);
                try
                {
                    await _channel.SendAsync(response).ConfigureAwait(false);
                    answered = true;
                }
                finally
                {
                    response.Y?.Dispose();
                }
            }
        }
        catch (Exception ex)
        {
            // The runner classified the call's own failures; what is left here is a failed send.
            var error = ex as MaasException ?? call.Classify(ex);
            if (error.Code is MaasErrorCode.ModelError or MaasErrorCode.Internal)
            {
                LogCallFailed(_logger, request.Operation.ToString(), request.Model ?? "", error.Code.ToString(), error.Message);
            }

            _active.Remove(call);
            if (!_closed.IsCancellationRequested)
            {
                await _channel.TrySendAsync(new ErrorMessage { Id = request.Id, Code = error.Code, Message = error.Message, Details = error.Details }).ConfigureAwait(false);
            }
        }
        finally
        {
            _active.Remove(call);
            DisposeInputs(request);
            if (answered && call.Recyclable)
            {
                _pool.Return(call);
            }
            else
            {
                call.Dispose();
            }

            _idle?.Touch();
            _calls.Leave();
        }
    }

    private void CancelAll(CallEndReason reason)
    {
        foreach (var call in _active.Snapshot())
        {
            call.Cancel(reason);
        }
    }
}
