using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>busy:MS</c>: a model for scale-out benchmarks and tests whose every Evaluate call keeps one core
/// busy for MS milliseconds and answers y = 2x (input and output of dimension 1), so that results can
/// be checked and throughput is bound by CPU, like a real model.
/// </summary>
internal static class BusyModels
{
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
        var uuid = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes("demos-maas/" + name)).AsSpan(0, 16));
        var work = TimeSpan.FromMilliseconds(ms);
        return ModelBuilder.Create(name)
            .WithUuid(uuid)
            .WithVersion("1.0.0")
            .WithDescription($"Keeps one core busy for {ms} ms per call and answers y = 2x: a stand-in for a CPU-bound model in scale-out benchmarks.")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(1)
            .WithEvaluate(1, (a, result) =>
            {
                long start = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(start) < work)
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
