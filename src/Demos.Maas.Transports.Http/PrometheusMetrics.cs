using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Demos.Maas.Middleware;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// Aggregates the "Demos.Maas" meter's instruments with a <see cref="MeterListener"/> and renders
/// them in the Prometheus text exposition format: counters as <c>_total</c>, up-down counters as
/// gauges, histograms with cumulative buckets, <c>_sum</c> and <c>_count</c>. Names: dots become
/// underscores, seconds histograms get <c>_seconds</c>.
/// </summary>
internal sealed class PrometheusMetrics : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] CountBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();

    public PrometheusMetrics()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MaasTelemetry.Name)
            {
                // The family travels with each measurement as the listener's state: no lookup per measurement.
                var family = new Family(instrument);
                _families[instrument] = family;
                listener.EnableMeasurementEvents(instrument, family);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => (state as Family)?.Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => (state as Family)?.Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => (state as Family)?.Record(value, tags));
        _listener.Start();
    }

    /// <summary>The current values in the text format.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            family.Render(text);
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Family
    {
        // Tag sets remembered beyond this many are looked up by their label text each time.
        private const int MaxRemembered = 4096;

        private const int RecentCount = 4;

        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);

        // The series of tag sets seen before, by a hash of the tags as they came: a call records five
        // measurements, and building each one's label text (sorted, escaped) cost more than the call.
        private readonly ConcurrentDictionary<int, SeenTags[]> _seen = new();

        // The tag sets measured last, tried before the hash: a UM-Bridge call measures its info and
        // its evaluate call into the same families, so one remembered set missed every time.
        private readonly SeenTags?[] _recent = new SeenTags?[RecentCount];
        private int _nextRecent;
        private readonly Instrument _instrument;
        private readonly double[]? _buckets;

        public Family(Instrument instrument)
        {
            _instrument = instrument;
            string baseName = instrument.Name.Replace('.', '_').Replace('-', '_');
            Kind = instrument switch
            {
                Counter<long> or Counter<double> or Counter<int> => "counter",
                UpDownCounter<long> or UpDownCounter<double> or UpDownCounter<int> => "gauge",
                _ => "histogram",
            };
            if (Kind == "histogram")
            {
                bool seconds = instrument.Unit == "s";
                _buckets = seconds ? SecondsBuckets : CountBuckets;
                Name = seconds ? baseName + "_seconds" : baseName;
            }
            else
            {
                Name = Kind == "counter" ? baseName + "_total" : baseName;
            }
        }

        public string Name { get; }

        public string Kind { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) => SeriesOf(tags).Add(value);

        private Series SeriesOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // Calls of one model come with the same tags again and again (mostly the very same strings).
            for (int i = 0; i < _recent.Length; i++)
            {
                if (Volatile.Read(ref _recent[i]) is { } seen && seen.Matches(tags))
                {
                    return seen.Series;
                }
            }

            var found = Find(tags);
            Volatile.Write(ref _recent[(int)((uint)Interlocked.Increment(ref _nextRecent) % RecentCount)], found);
            return found.Series;
        }

        private SeenTags Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            int hash = Hash(tags);
            if (_seen.TryGetValue(hash, out var seen))
            {
                foreach (var candidate in seen)
                {
                    if (candidate.Matches(tags))
                    {
                        return candidate;
                    }
                }
            }

            var series = _series.GetOrAdd(Labels(tags), static (_, buckets) => new Series(buckets), _buckets);
            var entry = new SeenTags(tags.ToArray(), series);
            if (_seen.Count < MaxRemembered)
            {
                _seen.AddOrUpdate(hash, static (_, entry) => [entry], static (_, old, entry) => [.. old, entry], entry);
            }

            return entry;
        }

        private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = new HashCode();
            foreach (var (key, value) in tags)
            {
                hash.Add(key, StringComparer.Ordinal);
                hash.Add(value);
            }

            return hash.ToHashCode();
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return "";
            }

            var pairs = new List<KeyValuePair<string, object?>>(tags.Length);
            foreach (var t in tags)
            {
                pairs.Add(t);
            }

            pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            var text = new StringBuilder();
            foreach (var (key, value) in pairs)
            {
                text.Append(text.Length == 0 ? "" : ",").Append(key.Replace('.', '_').Replace('-', '_')).Append("=\"")
                    .Append(Convert.ToString(value, CultureInfo.InvariantCulture)?.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal))
                    .Append('"');
            }

            return text.ToString();
        }

        public void Render(StringBuilder text)
        {
            if (!string.IsNullOrEmpty(_instrument.Description))
            {
                text.Append("# HELP ").Append(Name).Append(' ').Append(_instrument.Description).Append('\n');
            }

            text.Append("# TYPE ").Append(Name).Append(' ').Append(Kind).Append('\n');
            foreach (var (labels, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                series.Render(text, Name, labels, _buckets);
            }
        }
    }

    /// <summary>A tag set as it came (same keys in the same order, equal values) and its series.</summary>
    private sealed class SeenTags(KeyValuePair<string, object?>[] tags, Series series)
    {
        public Series Series { get; } = series;

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> other)
        {
            if (other.Length != tags.Length)
            {
                return false;
            }

            for (int i = 0; i < tags.Length; i++)
            {
                var (value, otherValue) = (tags[i].Value, other[i].Value);
                if (!string.Equals(tags[i].Key, other[i].Key, StringComparison.Ordinal) || (!ReferenceEquals(value, otherValue) && !Equals(value, otherValue)))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private sealed class Series(double[]? buckets)
    {
        private readonly Lock _lock = new();
        private readonly long[]? _bucketCounts = buckets is null ? null : new long[buckets.Length];
        private double _sum;
        private long _count;

        public void Add(double value)
        {
            lock (_lock)
            {
                _sum += value;
                _count++;
                if (_bucketCounts is not null)
                {
                    for (int i = 0; i < buckets!.Length; i++)
                    {
                        if (value <= buckets[i])
                        {
                            _bucketCounts[i]++;
                        }
                    }
                }
            }
        }

        public void Render(StringBuilder text, string name, string labels, double[]? bounds)
        {
            lock (_lock)
            {
                if (_bucketCounts is null)
                {
                    text.Append(name).Append(Braces(labels)).Append(' ').Append(Format(_sum)).Append('\n');
                    return;
                }

                string sep = labels.Length == 0 ? "" : ",";
                for (int i = 0; i < bounds!.Length; i++)
                {
                    text.Append(name).Append("_bucket{").Append(labels).Append(sep).Append("le=\"").Append(Format(bounds[i])).Append("\"} ").Append(_bucketCounts[i]).Append('\n');
                }

                text.Append(name).Append("_bucket{").Append(labels).Append(sep).Append("le=\"+Inf\"} ").Append(_count).Append('\n');
                text.Append(name).Append("_sum").Append(Braces(labels)).Append(' ').Append(Format(_sum)).Append('\n');
                text.Append(name).Append("_count").Append(Braces(labels)).Append(' ').Append(_count).Append('\n');
            }
        }

        private static string Braces(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

        private static string Format(double value) =>
            double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : value.ToString("R", CultureInfo.InvariantCulture);
    }
}
