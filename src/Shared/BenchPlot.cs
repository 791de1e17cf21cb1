using System.Globalization;
using ScottPlot;

namespace Demos.Maas;

/// <summary>One line of a benchmark plot: a label and its points; floors are drawn dashed.</summary>
internal sealed record BenchSeries(string Label, double[] X, double[] Y, bool Dashed = false);

/// <summary>
/// The benchmark picture (ScottPlot): latency against batch size on the left, throughput against
/// concurrency on the right, both on log axes. <c>maas bench --plot</c> and the report draw it alike.
/// </summary>
internal static class BenchPlot
{
    public static void Save(string path, string title, string latencyLabel, IReadOnlyList<BenchSeries> latency, string throughputLabel, IReadOnlyList<BenchSeries> throughput)
    {
        var left = Panel($"{title}: latency", "batch (points per call)", latencyLabel, latency);
        var right = Panel($"{title}: throughput", "concurrent callers", throughputLabel, throughput);
        var picture = new Multiplot(left);
        picture.AddPlot(right);
        picture.Layout = new ScottPlot.MultiplotLayouts.Columns();
        try
        {
            picture.SavePng(path, 1800, 560);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DirectoryNotFoundException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"cannot write the plot to '{path}': {ex.Message}", ex);
        }
    }

    private static Plot Panel(string title, string xLabel, string yLabel, IReadOnlyList<BenchSeries> series)
    {
        var plot = new Plot();

        // Twenty colours: the report draws more lines than the default palette's ten.
        plot.Add.Palette = new ScottPlot.Palettes.Category20();
        foreach (var s in series.Where(s => s.X.Length > 0))
        {
            // Log axes: ScottPlot draws log10 of the values with log-spaced minor ticks.
            var line = plot.Add.Scatter(s.X.Select(Math.Log10).ToArray(), s.Y.Select(v => Math.Log10(Math.Max(v, 1e-3))).ToArray());
            line.LegendText = s.Label;
            line.LineWidth = 2;
            line.MarkerSize = 6;
            if (s.Dashed)
            {
                line.LinePattern = LinePattern.Dashed;
            }
        }

        plot.Axes.Bottom.TickGenerator = LogTicks(series.SelectMany(s => s.X));
        plot.Axes.Left.TickGenerator = LogTicks(series.SelectMany(s => s.Y));
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        // Beside the data, not over it: the lines of small batches meet in the upper left.
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>Ticks at 1, 2 and 5 × 10^k over the values' range (only 10^k when that range is wide), labelled with the values.</summary>
    private static ScottPlot.TickGenerators.NumericManual LogTicks(IEnumerable<double> values)
    {
        var positive = values.Where(v => v > 0).ToList();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        if (positive.Count == 0)
        {
            return ticks;
        }

        int low = (int)Math.Floor(Math.Log10(positive.Min())), high = (int)Math.Ceiling(Math.Log10(positive.Max()));
        bool wide = high - low > 3;
        for (int k = low; k <= high; k++)
        {
            for (int m = 1; m <= 9; m++)
            {
                double v = m * Math.Pow(10, k);
                if (m == 1 || (!wide && m is 2 or 5))
                {
                    ticks.AddMajor(Math.Log10(v), v.ToString("#,0.###", CultureInfo.InvariantCulture));
                }
                else
                {
                    ticks.AddMinor(Math.Log10(v));
                }
            }
        }

        return ticks;
    }
}
