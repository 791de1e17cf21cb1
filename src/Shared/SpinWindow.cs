using System.Diagnostics;
using System.Globalization;

namespace Demos.Maas.Transports;

/// <summary>
/// How long a receiving thread keeps checking for bytes before it sleeps: the first turns of a
/// window (as many as the window was made with) keep the core and only pause, the rest yield the
/// core on every turn. A thread that sleeps at once lets its core go idle, and a virtual machine
/// wakes an idle core slower than an answer usually takes to come. Compiled into the socket and
/// shm:// transports (shared source).
/// </summary>
/// <remarks>
/// A yield is a system call that takes longer than the answer of a quick peer over shared memory
/// takes to come, so a thread that yields on its first turns notices that answer late. Where a
/// turn is a system call itself (a socket's non-blocking receive), turns that keep the core cost
/// the other threads of a busy process their core and gain little: those windows yield at once.
/// </remarks>
internal struct SpinWindow(long ticks, int pauseTurns)
{
    private long _start;
    private int _turn;

    /// <summary>A window of <paramref name="time"/> whose first <paramref name="pauseTurns"/> turns keep the core; zero time or less never spins.</summary>
    public static SpinWindow Of(TimeSpan time, int pauseTurns = 0) => new((long)(time.TotalSeconds * Stopwatch.Frequency), pauseTurns);

    /// <summary>The microseconds in <paramref name="variable"/>, or <paramref name="fallbackMicroseconds"/> when unset or not a whole number.</summary>
    public static TimeSpan FromEnvironment(string variable, int fallbackMicroseconds) =>
        TimeSpan.FromMicroseconds(int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.None, CultureInfo.InvariantCulture, out int us) ? us : fallbackMicroseconds);

    /// <summary>Within the window (it starts at the first call after a reset): pauses or yields the core and returns true; past it, false (the caller sleeps).</summary>
    public bool Spin()
    {
        if (ticks <= 0)
        {
            return false;
        }

        long now = Stopwatch.GetTimestamp();
        if (_start == 0)
        {
            _start = now;
        }

        if (now - _start >= ticks)
        {
            return false;
        }

        if (_turn < pauseTurns)
        {
            _turn++;
            Thread.SpinWait(1);
        }
        else
        {
            Thread.Yield(); // on a busy machine the core goes to whoever has work
        }

        return true;
    }

    /// <summary>Work came, or the caller slept: the next wait starts a new window.</summary>
    public void Reset()
    {
        _start = 0;
        _turn = 0;
    }
}
