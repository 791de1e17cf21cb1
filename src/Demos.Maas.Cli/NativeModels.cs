using System.Runtime.InteropServices;

namespace Demos.Maas.Cli;

/// <summary>
/// A model compiled to a shared library and served with <c>maas serve --native lib.so</c>, no
/// <c>main</c> needed. The library exports (bindings/c/demos_maas.h, "Models as plugins"):
/// <code>
/// const char* maas_plugin_metadata(void);                    // the metadata JSON of maas_server_register_model
/// int maas_plugin_callbacks(maas_model_callbacks* callbacks); // fills the callbacks; 0 = success
/// const char* maas_plugin_error(void);                       // optional: the message after a non-zero callback
/// </code>
/// The plugin needs no symbol of libdemos_maas.so, so no second runtime is loaded into maas.
/// </summary>
internal static unsafe class NativeModels
{
    public static IModel Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new MaasException(MaasErrorCode.NotFound, $"native model library '{path}' does not exist.");
        }

        nint library;
        try
        {
            library = NativeLibrary.Load(Path.GetFullPath(path));
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' is not a loadable shared library: {ex.Message.Split('\n')[0]}");
        }

        if (!NativeLibrary.TryGetExport(library, "maas_plugin_metadata", out nint metadataExport) || !NativeLibrary.TryGetExport(library, "maas_plugin_callbacks", out nint callbacksExport))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' does not export maas_plugin_metadata and maas_plugin_callbacks (see bindings/c/demos_maas.h, \"Models as plugins\").");
        }

        NativeLibrary.TryGetExport(library, "maas_plugin_error", out nint errorExport);
        string json = Marshal.PtrToStringUTF8(((delegate* unmanaged[Cdecl]<nint>)metadataExport)()) ?? throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}': maas_plugin_metadata returned NULL.");
        var callbacks = default(Demos.Maas.Native.ModelCallbacks);
        int rc = ((delegate* unmanaged[Cdecl]<Demos.Maas.Native.ModelCallbacks*, int>)callbacksExport)(&callbacks);
        if (rc != 0)
        {
            throw new MaasException(MaasErrorCode.ModelError, $"'{path}': maas_plugin_callbacks returned {rc}.");
        }

        try
        {
            return Demos.Maas.Native.NativeModel.Build(json, callbacks, flags: 0, workers: 0, () => PluginError(errorExport));
        }
        catch (MaasException ex) when (ex.Code == MaasErrorCode.InvalidArgument)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}': {ex.Message}");
        }
    }

    // A plugin cannot call maas_callback_error (it lives in libdemos_maas.so): its optional
    // maas_plugin_error export gives the calling thread's last message instead.
    private static string? PluginError(nint errorExport) =>
        errorExport == 0 ? null : Marshal.PtrToStringUTF8(((delegate* unmanaged[Cdecl]<nint>)errorExport)());
}
