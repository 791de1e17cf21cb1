using System.Runtime.CompilerServices;

namespace Demos.Maas.Transports;

/// <summary>
/// <c>await ThreadPoolHop.Instance</c> moves the awaiting code to a thread-pool thread, as
/// <c>Task.Yield</c> does on a thread without a synchronization context, whatever context the
/// thread has. Used to leave a receiving thread before code that may block runs. Shared source.
/// </summary>
internal sealed class ThreadPoolHop : ICriticalNotifyCompletion
{
    public static readonly ThreadPoolHop Instance = new();

    private ThreadPoolHop()
    {
    }

    public bool IsCompleted => false;

    public ThreadPoolHop GetAwaiter() => this;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

    public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
}
