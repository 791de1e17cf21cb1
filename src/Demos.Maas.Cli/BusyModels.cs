using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>busy:MS</c>: a model for scale-out benchmarks and tests whose every Evaluate call keeps one core
/// busy for MS milliseconds of CPU time (the thread's own clock on Linux) and answers y = 2x (input and output of dimension 1), so that results can
/// be checked and throughput is bound by CPU, like a real model.
/// </summary>
internal static partial class BusyModels
{
    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static unsafe partial int ClockGetTime(int clock, TimeSpec* time);

    /// <summary>CPU time this thread has used, in nanoseconds; null where the clock is missing.</summary>
    private static unsafe long? ThreadCpuNanoseconds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        TimeSpec t;
        return ClockGetTime(ThreadCpuClock, &t) == 0 ? (t.Seconds * 1_000_000_000L) + t.Nanoseconds : null;
    }

    public const string Prefix = "busy:";

    public static bool Is(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <exception cref="MaasException">InvalidArgument for a duration that is not 1 to 60000 ms.</exception>
    public static IModel Create(string name)
    {
        string text = name[Prefix.Length..];
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int ms) || ms < 1 || ms > 60_000)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{name}': busy:MS needs MS from 1 to 60000 milliseconds of CPU per call, e.g. busy:10.");
        }

        // The same uuid for the same duration everywhere, so that every server registers one model.
        // A random-looking uuid of version 4 (what a maas_reference requires), from the name's hash.
        byte[] bytes = SHA256.HashData(Encoding.UTF8.GetBytes("demos-maas/" + name))[..16];
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var uuid = new Guid(bytes);
        var work = TimeSpan.FromMilliseconds(ms);
        return ModelBuilder.Create(name)
            .WithUuid(uuid)
            .WithVersion("1.0.0")
            .WithDescription($"Keeps one core busy for {ms} ms per call and answers y = 2x: a stand-in for a CPU-bound model in scale-out benchmarks.")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(1)
            .WithEvaluate(1, (a, result) =>
            {
                // CPU time, not wall time: a server that shares its core gets through fewer calls.
                long start = Stopwatch.GetTimestamp();
                long? cpuStart = ThreadCpuNanoseconds();
                long budget = (long)work.TotalMilliseconds * 1_000_000L;
                while (cpuStart is { } c0 ? ThreadCpuNanoseconds() - c0 < budget : Stopwatch.GetElapsedTime(start) < work)
                {
                    Thread.SpinWait(64);
                }

                for (int i = 0; i < a.Rows; i++)
                {
                    result[i] = 2 * a.Point(i)[0];
                }
            })
            .Build();
    }
}
