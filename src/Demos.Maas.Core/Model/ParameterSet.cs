namespace Demos.Maas;

/// <summary>
/// A snapshot of a model's server-side parameter values with the version it had. The version
/// increases by at least one on every update, so a client can tell stale results apart.
/// </summary>
public sealed class ParameterSet
{
    private readonly KeyValuePair<string, double[]>[] _values;

    /// <summary>Creates a snapshot.</summary>
    public ParameterSet(long version, IEnumerable<KeyValuePair<string, double[]>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Version = version;
        _values = [.. values];
    }

    /// <summary>The parameter version.</summary>
    public long Version { get; }

    /// <summary>Name/value pairs in the model's parameter order.</summary>
    public IReadOnlyList<KeyValuePair<string, double[]>> Values => _values;

    /// <summary>The flattened values of the named parameter.</summary>
    public double[] this[string name]
    {
        get
        {
            foreach (var kv in _values)
            {
                if (kv.Key == name)
                {
                    return kv.Value;
                }
            }

            throw new KeyNotFoundException($"No parameter '{name}'.");
        }
    }

    /// <summary>All values concatenated in order: the theta vector.</summary>
    public double[] ToVector()
    {
        var result = new List<double>();
        foreach (var kv in _values)
        {
            result.AddRange(kv.Value);
        }

        return [.. result];
    }
}
