using System.Globalization;
using BenchmarkDotNet.Running;

if (args is ["alloc-probe", "client", var uri, ..])
{
    await Demos.Maas.Benchmarks.AllocationProbe.RunClientAsync(uri, args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100_000);
    return;
}

if (args is ["alloc-probe", ..])
{
    await Demos.Maas.Benchmarks.AllocationProbe.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Demos.Maas.Benchmarks.RoundTripConfig).Assembly).Run(args);
