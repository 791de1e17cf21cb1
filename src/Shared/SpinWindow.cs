using System.Diagnostics;
using System.Globalization;

namespace Demos.Maas.Transports;

/// <summary>
/// How long a receiving thread keeps checking for bytes, yielding its core on every turn, before
/// it sleeps. A thread that sleeps at once lets its core go idle, and a virtual machine wakes an
/// idle core slower than an answer usually takes to come. Compiled into the socket and shm://
/// transports (shared source).
/// </summary>
internal struct SpinWindow(long ticks)
{
    private long _start;

    /// <summary>A window of <paramref name="time"/>; zero or less never spins.</summary>
    public static SpinWindow Of(TimeSpan time) => new((long)(time.TotalSeconds * Stopwatch.Frequency));

    /// <summary>The microseconds in <paramref name="variable"/>, or <paramref name="fallbackMicroseconds"/> when unset or not a whole number.</summary>
    public static TimeSpan FromEnvironment(string variable, int fallbackMicroseconds) =>
        TimeSpan.FromMicroseconds(int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.None, CultureInfo.InvariantCulture, out int us) ? us : fallbackMicroseconds);

    /// <summary>Within the window (it starts at the first call after a reset): yields the core and returns true; past it, false (the caller sleeps).</summary>
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

        Thread.Yield(); // on a busy machine the core goes to whoever has work
        return true;
    }

    /// <summary>Work came, or the caller slept: the next wait starts a new window.</summary>
    public void Reset() => _start = 0;
}
