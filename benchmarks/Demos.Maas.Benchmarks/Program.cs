using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Demos.Maas.Benchmarks.RoundTripConfig).Assembly).Run(args);
