using System.Collections.Concurrent;
using System.Diagnostics;

namespace Demos.Maas.Transports;

/// <summary>
/// Watches reads that wait while their connection's receiving thread runs the reader's code
/// (<see cref="SocketReceiveReader"/> with hand-over): if that code has not returned to the thread
/// after <see cref="HandOverDelay"/>, a new thread takes over receiving at the watchdog's next look,
/// so code that blocks there, even on an answer that only this connection can bring, gets it.
/// Compiled into each socket transport (shared source); one watchdog thread per transport assembly
/// in the process.
/// </summary>
/// <remarks>
/// Almost every watched read is one the reader's code issued just before it awaits and returns
/// (the next request of a caller), so the watchdog must cost that code next to nothing: a read is
/// handed over by a queue entry, never by waking a thread. While calls flow there are always
/// entries, so the watchdog looks every <see cref="LookInterval"/> (each look is a thread wake-up,
/// which on a small machine can preempt a receiving thread that is about to get an answer), and
/// sleeps for good 100 ms after its last entry. A held read is thus taken over 1 to 5 ms after it
/// began to wait.
/// </remarks>
internal static class ReceiveWatchdog
{
    /// <summary>How long the reader's code may hold the receiving thread while a read waits.</summary>
    public static readonly TimeSpan HandOverDelay = TimeSpan.FromMilliseconds(1);

    /// <summary>How often the watchdog looks at its entries while it has any.</summary>
    public static readonly TimeSpan LookInterval = TimeSpan.FromMilliseconds(4);

    private const int IdleLooksBeforeSleep = 25;

    private static readonly ConcurrentQueue<Entry> s_incoming = new();
    private static readonly object s_gate = new();
    private static bool s_started;
    private static volatile bool s_sleeping;

    /// <summary>Watches the read that waits while the reader's code runs for the <paramref name="callbackNumber"/>-th time.</summary>
    public static void Watch(SocketReceiveReader reader, long callbackNumber)
    {
        s_incoming.Enqueue(new Entry(reader, callbackNumber, Stopwatch.GetTimestamp()));
        if (!Volatile.Read(ref s_started) || s_sleeping)
        {
            lock (s_gate)
            {
                if (!s_started)
                {
                    s_started = true;
                    new Thread(Run) { IsBackground = true, Name = "maas receive watchdog" }.Start();
                }
                else
                {
                    Monitor.Pulse(s_gate);
                }
            }
        }
    }

    private static void Run()
    {
        long delay = (long)(HandOverDelay.TotalSeconds * Stopwatch.Frequency);
        int lookMilliseconds = (int)LookInterval.TotalMilliseconds;
        var watched = new List<Entry>();
        int idleLooks = 0;
        while (true)
        {
            while (s_incoming.TryDequeue(out var entry))
            {
                watched.Add(entry);
            }

            if (watched.Count == 0 && ++idleLooks >= IdleLooksBeforeSleep)
            {
                lock (s_gate)
                {
                    s_sleeping = true;

                    // Watch enqueues, then reads s_sleeping; here the order is the reverse, so one of
                    // the two sees the other's write.
                    Interlocked.MemoryBarrier();
                    while (s_incoming.IsEmpty)
                    {
                        Monitor.Wait(s_gate);
                    }

                    s_sleeping = false;
                }

                idleLooks = 0;
                continue;
            }

            if (watched.Count > 0)
            {
                idleLooks = 0;
                // Keeps the entries still to watch, in place (no delegate per look).
                long now = Stopwatch.GetTimestamp();
                int kept = 0;
                for (int i = 0; i < watched.Count; i++)
                {
                    var e = watched[i];
                    if (!e.Reader.HandOverIfStillBusy(e.CallbackNumber, due: now - e.Since >= delay))
                    {
                        watched[kept++] = e;
                    }
                }

                watched.RemoveRange(kept, watched.Count - kept);
            }

            Thread.Sleep(lookMilliseconds);
        }
    }

    private readonly record struct Entry(SocketReceiveReader Reader, long CallbackNumber, long Since);
}
