using Demos.Maas.Models;

namespace Demos.Maas.Cli;

/// <summary>
/// What <c>--model NAME</c> hosts: an example model by name, or one of the stand-ins for benchmarks,
/// <c>busy:MS</c> (CPU-bound) and <c>copy</c> (no work at all).
/// </summary>
internal static class BenchmarkModels
{
    /// <summary>The model whose log-density is its input.</summary>
    public const string CopyName = "copy";

    /// <summary>Help text naming every model <see cref="Create"/> accepts.</summary>
    public static string Choices =>
        $"one of {string.Join(", ", ExampleModels.AllNames)}; busy:MS, a model that keeps one core busy MS milliseconds per call; "
        + "or copy, whose log-density is its input, for timing a transport alone";

    /// <exception cref="MaasException">NotFound for an unknown name; InvalidArgument for a bad busy:MS.</exception>
    public static IModel Create(string name)
    {
        if (BusyModels.Is(name))
        {
            return BusyModels.Create(name);
        }

        if (name == CopyName)
        {
            return Copy();
        }

        // ExampleModels' own error lists only the examples; a user of maas may host these stand-ins too.
        return ExampleModels.AllNames.Contains(name)
            ? ExampleModels.Create(name)
            : throw new MaasException(MaasErrorCode.NotFound, $"No built-in model '{name}'; choose {Choices}.");
    }

    /// <summary>
    /// <c>copy</c>: log-density = its input (dimension 1). A batch's request and response carry the same
    /// bytes as the floors' raw ping-pongs and the model adds only a copy, so its time is the transport's
    /// and the protocol's: the payload throughput of a transport.
    /// </summary>
    private static IModel Copy() => ModelBuilder.Create(CopyName)
        .WithVersion("1.0.0")
        .WithDescription("Log-density = its input: a model without work, for measuring a transport's payload throughput.")
        .WithAuthors("Demos.Maas examples")
        .WithInputDimension(1)
        .WithLogDensity((a, result) => a.X.CopyTo(result))
        .Build();
}
