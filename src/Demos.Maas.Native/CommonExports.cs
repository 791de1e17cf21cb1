using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demos.Maas.Native;

/// <summary>Version, errors and memory of the C ABI.</summary>
internal static unsafe class CommonExports
{
    private static readonly byte* Version = NativeStrings.Allocate(
        typeof(CommonExports).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    [UnmanagedCallersOnly(EntryPoint = "maas_version", CallConvs = [typeof(CallConvCdecl)])]
    public static byte* GetVersion() => Version;

    [UnmanagedCallersOnly(EntryPoint = "maas_last_error", CallConvs = [typeof(CallConvCdecl)])]
    public static byte* LastError() => NativeErrors.LastError;

    [UnmanagedCallersOnly(EntryPoint = "maas_status_name", CallConvs = [typeof(CallConvCdecl)])]
    public static byte* StatusName(int status) => (byte*)NativeErrors.StatusNames[status is >= 0 and <= 13 ? status : 14];

    [UnmanagedCallersOnly(EntryPoint = "maas_free", CallConvs = [typeof(CallConvCdecl)])]
    public static void Free(void* buffer)
    {
        if (buffer is not null)
        {
            NativeMemory.Free(buffer);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_callback_error", CallConvs = [typeof(CallConvCdecl)])]
    public static void CallbackError(byte* message)
    {
        try
        {
            NativeErrors.SetCallbackError(NativeStrings.Read(message) ?? "");
        }
        catch (Exception)
        {
            // Nothing may escape into the callback; an unreadable message leaves the generic one.
        }
    }
}
