using System.Runtime.InteropServices;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// Linux futexes on a 32-bit word of a shared mapping: a thread sleeps in the kernel until the peer
/// process changes the word and wakes it. Not the private variant, since the waker is another process.
/// </summary>
internal static unsafe partial class Futex
{
    private const int FutexWait = 0;
    private const int FutexWake = 1;

    /// <summary>The futex system call number of this architecture, or 0 where none is known.</summary>
    private static readonly long SysFutex = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 or Architecture.LoongArch64 or Architecture.RiscV64 => 98,
        Architecture.X86 => 240,
        Architecture.Arm => 240,
        _ => 0,
    };

    /// <summary>True where shm:// can run (Linux on an architecture whose futex call number we know).</summary>
    public static bool IsSupported => SysFutex != 0;

    /// <summary>Sleeps while <c>*word == expected</c>, at most <paramref name="timeoutMilliseconds"/>; returns early on a wake, a change of the word or a signal.</summary>
    public static void Wait(int* word, int expected, int timeoutMilliseconds)
    {
        var timeout = new Timespec { Seconds = timeoutMilliseconds / 1000, Nanoseconds = (timeoutMilliseconds % 1000) * 1_000_000 };
        _ = Syscall(SysFutex, word, FutexWait, expected, &timeout, null, 0);
    }

    /// <summary>Wakes every thread sleeping on <paramref name="word"/>, in any process.</summary>
    public static void WakeAll(int* word) => _ = Syscall(SysFutex, word, FutexWake, int.MaxValue, null, null, 0);

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long Syscall(long number, int* address, int operation, int value, Timespec* timeout, int* address2, int value3);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }
}
