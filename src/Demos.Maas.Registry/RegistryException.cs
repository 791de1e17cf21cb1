namespace Demos.Maas.Registry;

/// <summary>
/// A registry or resolution failure. It is a <see cref="MaasException"/> whose <see cref="MaasException.Code"/>
/// follows the protocol's error table (so the C ABI and every binding report it), with the precise
/// <see cref="Error"/> and, for malformed input, the <see cref="Field"/> at fault.
/// </summary>
public sealed class RegistryException : MaasException
{
    /// <summary>A failure of kind <paramref name="error"/>.</summary>
    public RegistryException(RegistryError error, string message, string? field = null, Exception? innerException = null)
        : base(CodeOf(error), message, innerException)
    {
        Error = error;
        Field = field;
    }

    /// <summary>What went wrong.</summary>
    public RegistryError Error { get; }

    /// <summary>The field of the document or request at fault (JSON name, e.g. <c>metadata.authors</c>), or null.</summary>
    public string? Field { get; }

    /// <summary>The protocol error code a registry failure is reported with.</summary>
    public static MaasErrorCode CodeOf(RegistryError error) => error switch
    {
        RegistryError.MalformedReference => MaasErrorCode.InvalidArgument,
        RegistryError.UnknownModel => MaasErrorCode.NotFound,
        RegistryError.ChecksumMismatch => MaasErrorCode.VersionMismatch,
        RegistryError.VersionConflict => MaasErrorCode.PermissionDenied,
        RegistryError.Unauthenticated => MaasErrorCode.Unauthenticated,
        _ => MaasErrorCode.Unavailable,
    };
}
