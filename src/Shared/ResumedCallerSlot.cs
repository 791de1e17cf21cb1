namespace Demos.Maas.Transports;

/// <summary>
/// The caller a receiving thread takes from its read loop (<c>IReceiverResumption.TryResume</c>) and
/// runs once the read loop waits again: only the thread that is completing a read may take one, and
/// it takes at most one per completion. Used by the <c>shm://</c> connection and the client's socket
/// connections; shared source.
/// </summary>
internal sealed class ResumedCallerSlot
{
    // The receiving thread's id while it completes a read (its read loop runs meanwhile), else 0.
    private int _completingThread;
    private IThreadPoolWorkItem? _taken;

    /// <summary>On the receiving thread, before it completes a read (the read loop may then take a caller).</summary>
    public void BeginCompletion() => Volatile.Write(ref _completingThread, Environment.CurrentManagedThreadId);

    /// <summary>On the receiving thread, once the read loop waits again.</summary>
    public void EndCompletion() => Volatile.Write(ref _completingThread, 0);

    /// <summary>Takes <paramref name="work"/> when called from the read loop inside a completion, with no caller taken yet.</summary>
    public bool TryTake(IThreadPoolWorkItem work)
    {
        if (Volatile.Read(ref _completingThread) != Environment.CurrentManagedThreadId || _taken is not null)
        {
            return false;
        }

        _taken = work;
        return true;
    }

    /// <summary>On the receiving thread after the completion: the caller taken, if any, now the thread's to run.</summary>
    public IThreadPoolWorkItem? Take()
    {
        var taken = _taken;
        _taken = null;
        return taken;
    }
}
