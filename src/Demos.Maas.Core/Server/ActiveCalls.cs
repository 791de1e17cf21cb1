namespace Demos.Maas.Server;

/// <summary>
/// The calls of one connection that are in flight, by request id. A plain dictionary under a lock:
/// a connection adds and removes one entry per call, and unlike a concurrent dictionary this
/// allocates nothing per call once it has grown to the connection's usual number of calls.
/// </summary>
internal sealed class ActiveCalls
{
    private readonly Dictionary<uint, ServerCall> _calls = [];

    public bool TryAdd(uint id, ServerCall call)
    {
        lock (_calls)
        {
            return _calls.TryAdd(id, call);
        }
    }

    public bool Contains(uint id)
    {
        lock (_calls)
        {
            return _calls.ContainsKey(id);
        }
    }

    public ServerCall? Find(uint id)
    {
        lock (_calls)
        {
            return _calls.GetValueOrDefault(id);
        }
    }

    /// <summary>
    /// Forgets <paramref name="call"/>, and only it: once its answer is out the client may reuse the
    /// id, and the entry may already belong to the next call with that id.
    /// </summary>
    public void Remove(ServerCall call)
    {
        lock (_calls)
        {
            if (_calls.TryGetValue(call.Request.Id, out var current) && ReferenceEquals(current, call))
            {
                _calls.Remove(call.Request.Id);
            }
        }
    }

    /// <summary>The calls in flight now (a copy: cancelling them runs outside the lock).</summary>
    public ServerCall[] Snapshot()
    {
        lock (_calls)
        {
            return [.. _calls.Values];
        }
    }
}
