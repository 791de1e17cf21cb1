namespace Demos.Maas.Protocol;

/// <summary>
/// A message could not be decoded. With <see cref="MaasErrorCode.ProtocolError"/> the connection
/// is closed; with <see cref="MaasErrorCode.InvalidArgument"/> (well-formed but wrong content, such
/// as an unknown dtype) only request <see cref="RequestId"/> fails.
/// </summary>
public sealed class MaasProtocolException : MaasException
{
    /// <summary>Creates the exception.</summary>
    public MaasProtocolException(MaasErrorCode code, string message, uint requestId = 0, Exception? innerException = null)
        : base(code, message, innerException)
    {
        RequestId = requestId;
    }

    /// <summary>The id of the request the message belonged to, or 0 when not known.</summary>
    public uint RequestId { get; }
}
