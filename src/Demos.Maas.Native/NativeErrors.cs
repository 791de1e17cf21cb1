using System.Runtime.InteropServices;
using System.Text;

namespace Demos.Maas.Native;

/// <summary>
/// Status codes and the thread-local last-error message of the C ABI. Every export turns what it
/// caught into a status code here, so no exception ever crosses into native code.
/// </summary>
internal static unsafe class NativeErrors
{
    [ThreadStatic]
    private static byte* t_lastError;

    [ThreadStatic]
    private static string? t_callbackError;

    private static readonly byte* EmptyString = (byte*)NativeMemory.AllocZeroed(1);

    /// <summary>The message of the last failed call on this thread ("" when none); library-owned.</summary>
    public static byte* LastError => t_lastError is null ? EmptyString : t_lastError;

    /// <summary>Forgets the last error (each export starts with this).</summary>
    public static void Clear()
    {
        if (t_lastError is not null)
        {
            NativeMemory.Free(t_lastError);
            t_lastError = null;
        }
    }

    /// <summary>Records <paramref name="message"/> and returns <paramref name="code"/> as the status.</summary>
    public static int Fail(MaasErrorCode code, string message)
    {
        Clear();
        t_lastError = NativeStrings.Allocate(message);
        return (int)code;
    }

    /// <summary>Maps an exception to its status code and records its message.</summary>
    public static int Fail(Exception exception)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }

        var code = exception switch
        {
            MaasException maas => maas.Code,
            ArgumentException => MaasErrorCode.InvalidArgument,
            FormatException => MaasErrorCode.InvalidArgument,
            System.Text.Json.JsonException => MaasErrorCode.InvalidArgument,
            KeyNotFoundException => MaasErrorCode.NotFound,
            TimeoutException => MaasErrorCode.DeadlineExceeded,
            OperationCanceledException => MaasErrorCode.Cancelled,
            OutOfMemoryException => MaasErrorCode.ResourceExhausted,
            InvalidOperationException => MaasErrorCode.InvalidArgument,
            NotSupportedException => MaasErrorCode.Unsupported,
            _ => MaasErrorCode.Internal,
        };
        return Fail(code, exception.Message);
    }

    /// <summary>Called by a model callback (through <c>maas_callback_error</c>) before it returns non-zero.</summary>
    public static void SetCallbackError(string? message) => t_callbackError = message;

    /// <summary>Takes (and clears) the message a callback left on this thread.</summary>
    public static string? TakeCallbackError()
    {
        string? message = t_callbackError;
        t_callbackError = null;
        return message;
    }

    /// <summary>The protocol name of a status code.</summary>
    public static string Name(int status) => status is >= 0 and <= 13 ? ((MaasErrorCode)status).ToString() : "Unknown";

    /// <summary>Interned UTF-8 names of the status codes, owned by the library for its lifetime.</summary>
    public static readonly nint[] StatusNames = Enumerable.Range(0, 15).Select(i => (nint)NativeStrings.Allocate(Name(i))).ToArray();
}

/// <summary>UTF-8 strings across the boundary: library-owned strings are allocated with <see cref="NativeMemory"/> and released by <c>maas_free</c>.</summary>
internal static unsafe class NativeStrings
{
    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="value"/>, freed with <c>maas_free</c>.</summary>
    public static byte* Allocate(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        byte* buffer = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(value, new Span<byte>(buffer, length));
        buffer[length] = 0;
        return buffer;
    }

    /// <summary>Reads a caller's NUL-terminated UTF-8 string; null stays null.</summary>
    public static string? Read(byte* value) => value is null ? null : Marshal.PtrToStringUTF8((nint)value);

    /// <summary>Reads a string the call cannot do without.</summary>
    public static string Required(byte* value, string what) =>
        Read(value) is { Length: > 0 } s ? s : throw new MaasException(MaasErrorCode.InvalidArgument, $"{what} is NULL or empty.");
}
