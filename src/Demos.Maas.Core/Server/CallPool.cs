using Demos.Maas.Protocol;

namespace Demos.Maas.Server;

/// <summary>
/// The requests and calls (with their contexts and token sources) of one server connection, kept
/// when a call ends cleanly and reused for the connection's next calls, so a quick call allocates
/// none of them. The read loop takes; whichever thread finishes a call gives back.
/// </summary>
internal sealed class CallPool
{
    // Enough for the calls a client keeps in flight on one connection; a burst beyond it is collected.
    private const int Capacity = 64;

    private readonly Lock _lock = new();

    // Stacks grown once to their capacity allocate nothing per push or pop.
    private readonly Stack<MaasRequest> _requests = new(Capacity);
    private readonly Stack<ServerCall> _calls = new(Capacity);

    /// <summary>Calls that reused a pooled call object (for tests).</summary>
    public long Reused { get; private set; }

    /// <summary>An empty request for the decoder to fill.</summary>
    public MaasRequest RentRequest()
    {
        lock (_lock)
        {
            if (_requests.TryPop(out var request))
            {
                return request;
            }
        }

        return new MaasRequest();
    }

    /// <summary>A call for <paramref name="request"/>: a recycled one restarted, or a new one.</summary>
    public ServerCall RentCall(MaasRequest request)
    {
        ServerCall? call;
        lock (_lock)
        {
            if (_calls.TryPop(out call))
            {
                Reused++;
            }
        }

        if (call is null)
        {
            return ServerCall.ForConnection(request);
        }

        call.Restart(request);
        return call;
    }

    /// <summary>
    /// Takes back a call that ended cleanly (<see cref="ServerCall.Recyclable"/>), with its request,
    /// whose matrices were already disposed. Both are cleared now so they hold nothing of the call.
    /// </summary>
    public void Return(ServerCall call)
    {
        var request = call.Request;
        request.Reset();
        call.Context!.Reset(request, CancellationToken.None);
        lock (_lock)
        {
            if (_requests.Count < Capacity)
            {
                _requests.Push(request);
            }

            if (_calls.Count < Capacity)
            {
                _calls.Push(call);
            }
        }
    }
}
