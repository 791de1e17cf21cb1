using System.Runtime.CompilerServices;

namespace Demos.Maas.Transports;

/// <summary>
/// <c>await ThreadPoolHop.ToPoolUnless(stay)</c> moves the awaiting code to a thread-pool thread,
/// as <c>Task.Yield</c> does on a thread without a synchronization context, unless
/// <c>stay</c> or the code already runs on a pool thread. Used to leave a receiving thread before
/// code that may block runs. A struct awaiter, so the hop costs no allocation of its own. Shared
/// source.
/// </summary>
internal readonly struct ThreadPoolHop : ICriticalNotifyCompletion
{
    private readonly bool _stay;

    private ThreadPoolHop(bool stay) => _stay = stay;

    public bool IsCompleted => _stay;

    public static ThreadPoolHop ToPoolUnless(bool stay) => new(stay || Thread.CurrentThread.IsThreadPoolThread);

    public ThreadPoolHop GetAwaiter() => this;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

    public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
}
