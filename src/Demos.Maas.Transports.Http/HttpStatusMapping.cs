namespace Demos.Maas.Transports.Http;

/// <summary>The protocol's error table mapped to HTTP statuses (docs/protocol.md §12, docs/http.md).</summary>
public static class HttpStatusMapping
{
    /// <summary>The conventional "client closed request" status used for <see cref="MaasErrorCode.Cancelled"/>.</summary>
    public const int ClientClosedRequest = 499;

    /// <summary>The HTTP status for an error code. <paramref name="sizeLimit"/> picks 413 over 429 for ResourceExhausted.</summary>
    public static int ToStatus(MaasErrorCode code, bool sizeLimit = false) => code switch
    {
        MaasErrorCode.Ok => 200,
        MaasErrorCode.InvalidArgument => 400,
        MaasErrorCode.NotFound => 404,
        MaasErrorCode.Unsupported => 501,
        MaasErrorCode.ModelError => 422,
        MaasErrorCode.DeadlineExceeded => 504,
        MaasErrorCode.Cancelled => ClientClosedRequest,
        MaasErrorCode.Unauthenticated => 401,
        MaasErrorCode.PermissionDenied => 403,
        MaasErrorCode.ResourceExhausted => sizeLimit ? 413 : 429,
        MaasErrorCode.Unavailable => 503,
        MaasErrorCode.ProtocolError => 400,
        MaasErrorCode.VersionMismatch => 505,
        _ => 500,
    };

    /// <summary>The error code for a status from a server that sent no error body we understand (a proxy's page, for instance).</summary>
    public static MaasErrorCode FromStatus(int status) => status switch
    {
        400 => MaasErrorCode.InvalidArgument,
        401 => MaasErrorCode.Unauthenticated,
        403 => MaasErrorCode.PermissionDenied,
        404 => MaasErrorCode.NotFound,
        408 or 504 => MaasErrorCode.DeadlineExceeded,
        413 or 429 => MaasErrorCode.ResourceExhausted,
        422 => MaasErrorCode.ModelError,
        ClientClosedRequest => MaasErrorCode.Cancelled,
        501 => MaasErrorCode.Unsupported,
        502 or 503 => MaasErrorCode.Unavailable,
        505 => MaasErrorCode.VersionMismatch,
        _ => MaasErrorCode.Internal,
    };
}
