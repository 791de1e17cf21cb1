namespace Demos.Maas;

/// <summary>New values for some of a model's parameters.</summary>
public sealed class ParameterUpdate
{
    /// <summary>Parameter name to flattened new values. Parameters not named keep their values.</summary>
    public Dictionary<string, double[]> Values { get; init; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Optional client-chosen id. A server that has already applied an update with this id answers
    /// with the current values instead of applying it again, which makes a retried update safe.
    /// </summary>
    public string? UpdateId { get; init; }

    /// <summary>Convenience: an update of one parameter.</summary>
    public static ParameterUpdate Of(string name, params double[] values) =>
        new() { Values = { [name] = values } };
}
