namespace Demos.Maas.Transports;

/// <summary>
/// The threads that run connections' receive loops. A thread whose loop ended (its connection
/// closed, or it ended idle) waits up to <see cref="KeepIdle"/> for the next loop before it ends,
/// so that a client that connects for every call does not pay a thread's start and end each time:
/// UM-Bridge's C++ client (its HTTP client does not keep connections alive) and Python's
/// <c>requests.post</c> without a session both do. Compiled into each socket transport (shared
/// source); each transport assembly keeps its own threads.
/// </summary>
internal static class ReceivingThreads
{
    /// <summary>How long a thread whose loop ended waits for another before it ends.</summary>
    public static readonly TimeSpan KeepIdle = TimeSpan.FromSeconds(2);

    /// <summary>How many threads may wait for a loop at once; a thread whose loop ends past this many ends at once.</summary>
    public const int MaxIdle = 16;

    // The waiting threads, the one that waited least at the end (its stack is still warm). Under s_gate.
    private static readonly List<Worker> s_idle = [];
    private static readonly object s_gate = new();
    private static long s_made;

    /// <summary>How many threads were made so far (each loop that found no waiting thread made one).</summary>
    public static long Made => Interlocked.Read(ref s_made);

    /// <summary>How many threads wait for a loop now.</summary>
    public static int Idle
    {
        get
        {
            lock (s_gate)
            {
                return s_idle.Count;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="loop"/>(<paramref name="state"/>) on a waiting thread, or on a new
    /// background thread named <paramref name="name"/>, in the caller's execution context as
    /// <see cref="Thread.Start()"/> would. A waiting thread keeps the name it was made with: each
    /// transport assembly starts all its loops under one name.
    /// </summary>
    /// <exception cref="OutOfMemoryException">No new thread could be made.</exception>
    /// <exception cref="ThreadStartException">No new thread could be started.</exception>
    public static void Start(string name, Action<object?> loop, object? state)
    {
        var work = new Work(loop, state, ExecutionContext.Capture());
        Worker? idle = null;
        lock (s_gate)
        {
            if (s_idle.Count > 0)
            {
                idle = s_idle[^1];
                s_idle.RemoveAt(s_idle.Count - 1);
                idle.Next = work;
            }
        }

        if (idle is not null)
        {
            idle.Wake();
            return;
        }

        var worker = new Worker { Next = work };
        Interlocked.Increment(ref s_made);
        // Each loop runs in the context its Start captured; the thread itself carries none.
        new Thread(worker.Run) { IsBackground = true, Name = name }.UnsafeStart();
    }

    private sealed class Work(Action<object?> loop, object? state, ExecutionContext? context)
    {
        public void Run()
        {
            if (context is null)
            {
                loop(state);
            }
            else
            {
                ExecutionContext.Run(context, static w => ((Work)w!).RunHere(), this);
            }
        }

        private void RunHere() => loop(state);
    }

    private sealed class Worker
    {
        // Held while the worker goes into s_idle and waits, so that a wake-up cannot come before the wait.
        private readonly object _gate = new();

        // The loop to run next, set under s_gate by whoever takes this worker out of s_idle.
        public Work? Next;

        public void Wake()
        {
            lock (_gate)
            {
                Monitor.Pulse(_gate);
            }
        }

        public void Run()
        {
            while (true)
            {
                Work work;
                lock (s_gate)
                {
                    work = Next!;
                    Next = null;
                }

                work.Run();
                if (!WaitForNext())
                {
                    return;
                }
            }
        }

        // Waits for the next loop in s_idle; false when none came within KeepIdle (or too many wait).
        private bool WaitForNext()
        {
            lock (_gate)
            {
                lock (s_gate)
                {
                    if (s_idle.Count >= MaxIdle)
                    {
                        return false;
                    }

                    s_idle.Add(this);
                }

                while (true)
                {
                    bool woken = Monitor.Wait(_gate, KeepIdle);
                    lock (s_gate)
                    {
                        if (Next is not null)
                        {
                            return true;
                        }

                        if (!woken)
                        {
                            // Nobody took this worker (Start sets Next when it does, under s_gate).
                            s_idle.Remove(this);
                            return false;
                        }
                    }
                }
            }
        }
    }
}
