namespace Demos.Maas.Registry;

/// <summary>What went wrong in a registry operation or a <c>maas://</c> resolution.</summary>
public enum RegistryError
{
    /// <summary>A <c>maas_reference</c> document, a <c>maas://</c> URI or a request is malformed.</summary>
    MalformedReference = 1,

    /// <summary>The registry knows no model with that uuid (or no such version of it).</summary>
    UnknownModel = 2,

    /// <summary>What answers is not what the reference names (checksum, uuid or version differ).</summary>
    ChecksumMismatch = 3,

    /// <summary>The version is already registered with different content; versions are never overwritten.</summary>
    VersionConflict = 4,

    /// <summary>The registry (or every endpoint of the model) cannot be reached.</summary>
    RegistryUnavailable = 5,

    /// <summary>A write without a valid registry key.</summary>
    Unauthenticated = 6,
}
