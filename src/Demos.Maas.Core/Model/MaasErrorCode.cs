namespace Demos.Maas;

/// <summary>
/// The one error table shared by every transport and binding. The numbers are part of the wire
/// protocol and of the C ABI (where 0 means success); never renumber them.
/// </summary>
public enum MaasErrorCode
{
    /// <summary>Success (used by the C ABI only; never sent as an error).</summary>
    Ok = 0,

    /// <summary>The request is well formed but its arguments are wrong (dimensions, bounds, names).</summary>
    InvalidArgument = 1,

    /// <summary>No such model or dataset.</summary>
    NotFound = 2,

    /// <summary>The model does not have this capability.</summary>
    Unsupported = 3,

    /// <summary>The model's own code failed; the message is the model's.</summary>
    ModelError = 4,

    /// <summary>The call's deadline passed before it finished.</summary>
    DeadlineExceeded = 5,

    /// <summary>The caller cancelled the call.</summary>
    Cancelled = 6,

    /// <summary>No or invalid credentials.</summary>
    Unauthenticated = 7,

    /// <summary>Credentials valid, operation not allowed.</summary>
    PermissionDenied = 8,

    /// <summary>A limit was hit: frame size, in-flight requests, rate, memory.</summary>
    ResourceExhausted = 9,

    /// <summary>The server is shutting down or cannot be reached; safe to retry elsewhere or later.</summary>
    Unavailable = 10,

    /// <summary>A malformed frame or message; the connection is closed.</summary>
    ProtocolError = 11,

    /// <summary>The peers share no protocol major version.</summary>
    VersionMismatch = 12,

    /// <summary>A bug in the server or client library.</summary>
    Internal = 13,
}
