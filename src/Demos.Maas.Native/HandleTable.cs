using System.Collections.Concurrent;

namespace Demos.Maas.Native;

/// <summary>
/// The opaque handles given to native code. A handle is a number from a counter that never repeats
/// (not an address), so a NULL, forged, closed or freed handle is looked up, not dereferenced, and
/// fails with InvalidArgument instead of crashing; a stale handle can never alias a newer object.
/// </summary>
internal static class HandleTable
{
    private static readonly ConcurrentDictionary<nint, object> Live = new();
    private static long s_next = 0x10000;

    /// <summary>Registers <paramref name="target"/> and returns its new handle.</summary>
    public static nint Add(object target)
    {
        nint handle = (nint)Interlocked.Add(ref s_next, 16);
        Live[handle] = target;
        return handle;
    }

    /// <summary>The live object behind <paramref name="handle"/>, or InvalidArgument.</summary>
    public static T Get<T>(nint handle, string what)
        where T : class
    {
        if (handle == 0)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"The {what} handle is NULL.");
        }

        if (!Live.TryGetValue(handle, out var target))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"The {what} handle 0x{handle:x} is unknown or already closed.");
        }

        return target as T ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"Handle 0x{handle:x} is not a {what} handle.");
    }

    /// <summary>Removes a handle (close/free); later uses of it fail with InvalidArgument.</summary>
    public static T Remove<T>(nint handle, string what)
        where T : class
    {
        var target = Get<T>(handle, what);
        // Two threads closing one handle: only the one that removes it owns the close.
        if (!Live.TryRemove(new KeyValuePair<nint, object>(handle, target)))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"The {what} handle 0x{handle:x} is unknown or already closed.");
        }

        return target;
    }
}
