using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Demos.Maas.Benchmarks;

/// <summary>Short but stable: 3 warm-ups, 15 measured iterations; median (p50) and p95 columns; allocations.</summary>
public sealed class RoundTripConfig : ManualConfig
{
    public RoundTripConfig()
    {
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(15).WithId("rt"));
        AddColumn(StatisticColumn.Median, StatisticColumn.P95);
        AddDiagnoser(MemoryDiagnoser.Default);
        WithOptions(ConfigOptions.JoinSummary);
    }
}
