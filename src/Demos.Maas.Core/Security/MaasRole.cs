namespace Demos.Maas.Security;

/// <summary>What a role may do: a set of operations on a set of models.</summary>
public sealed class MaasRole
{
    /// <summary>
    /// Operation groups: <c>info</c> (list models, model info, read parameters, list datasets),
    /// <c>compute</c> (Evaluate, LogDensity, Gradient), <c>sample</c>, <c>read_data</c>,
    /// <c>update_parameters</c>, or <c>*</c> for all.
    /// </summary>
    public IList<string> Operations { get; set; } = [];

    /// <summary>Model names or uuids, or <c>*</c> for every model.</summary>
    public IList<string> Models { get; set; } = ["*"];
}
