namespace Demos.Maas.Transport;

/// <summary>
/// A connection's input whose receiving thread can run one completed call's continuation itself,
/// after the read loop has begun waiting for the next bytes, while another thread of the connection
/// takes over receiving. The caller then resumes on a thread that is already awake instead of
/// waiting for a thread-pool worker to wake, and a caller that runs long delays no other answer.
/// </summary>
internal interface IReceiverResumption
{
    /// <summary>
    /// From the read loop, on the receiving thread: takes <paramref name="work"/> to run once the
    /// read loop waits again, handing receiving to another thread meanwhile. False when that is not
    /// possible now (not on the receiving thread, one already taken, or the other thread is busy
    /// running one): the caller then queues the work to the thread pool.
    /// </summary>
    bool TryResume(IThreadPoolWorkItem work);
}
