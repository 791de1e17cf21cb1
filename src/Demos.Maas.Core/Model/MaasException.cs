namespace Demos.Maas;

/// <summary>
/// An error with a code from the protocol's error table. Thrown the same way by local models and by
/// remote proxies, so code written against <see cref="IModel"/> handles both alike.
/// </summary>
public class MaasException : Exception
{
    /// <summary>Creates an exception with a code and a message.</summary>
    public MaasException(MaasErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Creates an exception with details (extra key/value facts, e.g. the expected shape).</summary>
    public MaasException(MaasErrorCode code, string message, IReadOnlyDictionary<string, string>? details)
        : base(message)
    {
        Code = code;
        Details = details;
    }

    /// <summary>The error's code in the protocol's table.</summary>
    public MaasErrorCode Code { get; }

    /// <summary>Optional key/value details sent with the error.</summary>
    public IReadOnlyDictionary<string, string>? Details { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Code}: {Message}";

    internal static MaasException InvalidArgument(string message) => new(MaasErrorCode.InvalidArgument, message);

    internal static MaasException Unsupported(string model, string operation) =>
        new(MaasErrorCode.Unsupported, $"Model '{model}' does not support {operation}.");
}
