using System.Globalization;
using BenchmarkDotNet.Running;

if (args is ["alloc-probe", ..])
{
    const string usage = "usage: alloc-probe [ROUND-TRIPS] | alloc-probe client URI [CALLS [TIMEOUT-MS]] (counts are positive integers; TIMEOUT-MS gives every call a deadline)";
    static int Count(string[] args, int index, int fallback) =>
        args.Length <= index ? fallback
        : int.TryParse(args[index], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n
        : throw new ArgumentException($"'{args[index]}' is not a positive count; {usage}");

    try
    {
        if (args is [_, "client", var uri, ..])
        {
            TimeSpan? timeout = args.Length > 4 ? TimeSpan.FromMilliseconds(Count(args, 4, 0)) : null;
            await Demos.Maas.Benchmarks.AllocationProbe.RunClientAsync(uri, Count(args, 3, 100_000), timeout);
        }
        else if (args is [_, "client"])
        {
            throw new ArgumentException($"alloc-probe client needs the server's URI; {usage}");
        }
        else
        {
            await Demos.Maas.Benchmarks.AllocationProbe.RunAsync(Count(args, 1, 200_000));
        }
    }
    catch (ArgumentException ex)
    {
        Console.Error.WriteLine(ex.Message);
        Environment.Exit(2);
    }
    catch (Demos.Maas.MaasException ex)
    {
        Console.Error.WriteLine($"alloc-probe: {ex.Message}");
        Environment.Exit(1);
    }

    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Demos.Maas.Benchmarks.RoundTripConfig).Assembly).Run(args);
