using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demos.Maas.Native;

/// <summary>
/// The server's bound addresses one at a time (see bindings/c/demos_maas.h), for bindings that have
/// no JSON parser at hand (maas_server_endpoints gives the same list as a JSON array).
/// </summary>
internal static unsafe class ServerEndpointExports
{
    [UnmanagedCallersOnly(EntryPoint = "maas_server_endpoint_count", CallConvs = [typeof(CallConvCdecl)])]
    public static int EndpointCount(nint server, long* count)
    {
        NativeErrors.Clear();
        try
        {
            if (count is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_server_endpoint_count: out pointer is NULL."); }
            *count = 0;
            *count = HandleTable.Get<NativeServer>(server, "server").Endpoints.Count;
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_server_endpoint", CallConvs = [typeof(CallConvCdecl)])]
    public static int Endpoint(nint server, long index, byte** uri)
    {
        NativeErrors.Clear();
        try
        {
            if (uri is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_server_endpoint: out pointer is NULL."); }
            *uri = null;
            var endpoints = HandleTable.Get<NativeServer>(server, "server").Endpoints;
            if (index < 0 || index >= endpoints.Count)
            {
                return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_server_endpoint: index {index} is out of range; the server has {endpoints.Count} bound addresses.");
            }

            *uri = NativeStrings.Allocate(endpoints[(int)index].ToString());
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }
}
