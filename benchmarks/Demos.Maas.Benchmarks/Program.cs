using System.Globalization;
using BenchmarkDotNet.Running;

if (args is ["alloc-probe", ..])
{
    await Demos.Maas.Benchmarks.AllocationProbe.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Demos.Maas.Benchmarks.RoundTripConfig).Assembly).Run(args);
