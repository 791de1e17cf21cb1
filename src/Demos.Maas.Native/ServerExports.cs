using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demos.Maas.Native;

/// <summary>The server half of the C ABI (see bindings/c/demos_maas.h).</summary>
internal static unsafe class ServerExports
{
    [UnmanagedCallersOnly(EntryPoint = "maas_server_create", CallConvs = [typeof(CallConvCdecl)])]
    public static int Create(byte* configJson, nint* server)
    {
        NativeErrors.Clear();
        try
        {
            if (server is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_server_create: out pointer is NULL."); }
            *server = 0;
            *server = HandleTable.Add(NativeServer.Create(NativeStrings.Read(configJson)));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_create_from_file", CallConvs = [typeof(CallConvCdecl)])]
    public static int CreateFromFile(byte* path, nint* server)
    {
        NativeErrors.Clear();
        try
        {
            if (server is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_server_create_from_file: out pointer is NULL."); }
            *server = 0;
            string file = NativeStrings.Required(path, "path");
            string json;
            try
            {
                json = File.ReadAllText(file);
            }
            catch (IOException ex)
            {
                return NativeErrors.Fail(MaasErrorCode.NotFound, $"Cannot read server configuration '{file}': {ex.Message}");
            }

            *server = HandleTable.Add(NativeServer.Create(json));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_register_model", CallConvs = [typeof(CallConvCdecl)])]
    public static int RegisterModel(nint server, byte* metadataJson, ModelCallbacks* callbacks, uint flags)
    {
        NativeErrors.Clear();
        try
        {
            var s = HandleTable.Get<NativeServer>(server, "server");
            if (callbacks is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_server_register_model: callbacks is NULL."); }
            var model = NativeModel.Build(NativeStrings.Required(metadataJson, "metadata_json"), *callbacks, flags, s.Workers, NativeErrors.TakeCallbackError);
            if (s.Server.Models.TryResolve(model.Info.Name) is not null)
            {
                return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"A model named '{model.Info.Name}' is already registered.");
            }

            s.Server.AddModel(model);
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_register_example", CallConvs = [typeof(CallConvCdecl)])]
    public static int RegisterExample(nint server, byte* name)
    {
        NativeErrors.Clear();
        try
        {
            var s = HandleTable.Get<NativeServer>(server, "server");
            string model = NativeStrings.Required(name, "name");
            if (!Models.ExampleModels.AllNames.Contains(model))
            {
                return NativeErrors.Fail(MaasErrorCode.NotFound, $"No example model '{model}'; there are {string.Join(", ", Models.ExampleModels.AllNames)}.");
            }

            s.Server.AddModel(Models.ExampleModels.Create(model));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_listen", CallConvs = [typeof(CallConvCdecl)])]
    public static int Listen(nint server, byte* uri, byte** bound)
    {
        NativeErrors.Clear();
        try
        {
            if (bound is not null) { *bound = null; }
            var s = HandleTable.Get<NativeServer>(server, "server");
            var actual = s.Listen(NativeStrings.Required(uri, "uri"));
            if (bound is not null) { *bound = NativeStrings.Allocate(actual.ToString()); }
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_start", CallConvs = [typeof(CallConvCdecl)])]
    public static int Start(nint server)
    {
        NativeErrors.Clear();
        try
        {
            HandleTable.Get<NativeServer>(server, "server").Start();
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_endpoints", CallConvs = [typeof(CallConvCdecl)])]
    public static int Endpoints(nint server, byte** json)
    {
        NativeErrors.Clear();
        try
        {
            if (json is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_server_endpoints: out pointer is NULL."); }
            *json = null;
            var s = HandleTable.Get<NativeServer>(server, "server");
            string list = "[" + string.Join(",", s.Endpoints.Select(u => System.Text.Json.JsonEncodedText.Encode(u.ToString()).ToString()).Select(u => $"\"{u}\"")) + "]";
            *json = NativeStrings.Allocate(list);
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_serve", CallConvs = [typeof(CallConvCdecl)])]
    public static int Serve(nint server)
    {
        NativeErrors.Clear();
        try
        {
            HandleTable.Get<NativeServer>(server, "server").Serve();
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_stop", CallConvs = [typeof(CallConvCdecl)])]
    public static int Stop(nint server)
    {
        NativeErrors.Clear();
        try
        {
            var s = HandleTable.Get<NativeServer>(server, "server");
            if (!s.IsStopped) { s.Stop(); }
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_free", CallConvs = [typeof(CallConvCdecl)])]
    public static int Free(nint server)
    {
        NativeErrors.Clear();
        try
        {
            var s = HandleTable.Remove<NativeServer>(server, "server");
            if (!s.IsStopped) { s.Stop(); }
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }
}
