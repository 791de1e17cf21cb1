namespace Demos.Maas;

/// <summary>
/// A model that can tell its current parameter version without a call. Result caches put it in
/// their keys, so a cached result computed under older parameters is never served.
/// </summary>
public interface IVersionedParameters
{
    /// <summary>The current parameter version (increases on every update).</summary>
    long ParameterVersion { get; }
}
