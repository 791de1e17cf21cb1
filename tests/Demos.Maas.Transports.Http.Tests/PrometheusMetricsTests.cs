using System.Diagnostics.Metrics;
using System.Globalization;
using Demos.Maas.Middleware;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>The /metrics aggregation: one series per tag set, whatever order the tags come in and however often they were seen.</summary>
public sealed class PrometheusMetricsTests
{
    private static readonly string[] Keys = ["maas.model", "maas.operation", "maas-side"];
    private static readonly object?[] Values = ["gaussian1d", "decay", "say \"hi\"", "back\\slash", 7, null];

    // One measurement: the three keys in some order, each with one of the values.
    private static readonly Gen<(int Order, int[] Values)> Measurement =
        Gen.Choose(0, 5).SelectMany(order => Gen.ArrayOf(Gen.Choose(0, Values.Length - 1), 3).Select(values => (order, values)));

    [Property(MaxTest = 100)]
    public Property Each_tag_set_has_one_series_that_counts_every_measurement_of_it() =>
        Prop.ForAll(Gen.Choose(1, 60).SelectMany(n => Gen.ArrayOf(Measurement, n)).ToArbitrary(), measurements =>
        {
            using var metrics = new PrometheusMetrics();
            using var meter = new Meter(MaasTelemetry.Name);
            string name = "test.counts." + Guid.NewGuid().ToString("N");
            var counter = meter.CreateCounter<long>(name);
            var expected = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (order, values) in measurements)
            {
                int[] keys = Permutation(order);
                var tags = keys.Select(k => new KeyValuePair<string, object?>(Keys[k], Values[values[k]])).ToArray();
                counter.Add(1, tags);
                string set = string.Join("|", Enumerable.Range(0, 3).Select(k => values[k]));
                expected[set] = expected.GetValueOrDefault(set) + 1;
            }

            string prefix = name.Replace('.', '_') + "_total{";
            var counts = metrics.Render().Split('\n').Where(line => line.StartsWith(prefix, StringComparison.Ordinal))
                .Select(line => long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)).Order().ToArray();
            return counts.SequenceEqual(expected.Values.Order());
        });

    [Fact]
    public void Labels_are_sorted_named_with_underscores_and_escaped_whichever_order_the_tags_came_in()
    {
        using var metrics = new PrometheusMetrics();
        using var meter = new Meter(MaasTelemetry.Name);
        string name = "test.labels." + Guid.NewGuid().ToString("N");
        var counter = meter.CreateCounter<long>(name);
        counter.Add(2, new KeyValuePair<string, object?>("b-key", "say \"hi\"\n"), new KeyValuePair<string, object?>("a.key", 1));
        counter.Add(3, new KeyValuePair<string, object?>("a.key", 1), new KeyValuePair<string, object?>("b-key", "say \"hi\"\n"));
        counter.Add(5, new KeyValuePair<string, object?>("a.key", 2), new KeyValuePair<string, object?>("b-key", "say \"hi\"\n"));

        var lines = metrics.Render().Split('\n').Where(line => line.StartsWith(name.Replace('.', '_'), StringComparison.Ordinal)).ToArray();
        Assert.Equal(
        [
            name.Replace('.', '_') + "_total{a_key=\"1\",b_key=\"say \\\"hi\\\"\\n\"} 5",
            name.Replace('.', '_') + "_total{a_key=\"2\",b_key=\"say \\\"hi\\\"\\n\"} 5",
        ], lines);
    }

    private static int[] Permutation(int index) => index switch
    {
        0 => [0, 1, 2],
        1 => [0, 2, 1],
        2 => [1, 0, 2],
        3 => [1, 2, 0],
        4 => [2, 0, 1],
        _ => [2, 1, 0],
    };
}
