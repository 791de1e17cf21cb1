using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demos.Maas.Native;

/// <summary>
/// The model-description accessors of the C ABI (see bindings/c/demos_maas.h): the numbers and names
/// a binding needs for every call, so no binding has to parse the info JSON. They read the
/// <see cref="ModelInfo"/> the client cached when it first looked the model up, so after that first
/// lookup they make no round trip.
/// </summary>
internal static unsafe class ModelInfoExports
{
    [UnmanagedCallersOnly(EntryPoint = "maas_model_input_dim", CallConvs = [typeof(CallConvCdecl)])]
    public static int InputDimension(nint client, byte* model, long* inputDimension) =>
        Number(client, model, inputDimension, "maas_model_input_dim", static info => info.InputDimension);

    [UnmanagedCallersOnly(EntryPoint = "maas_model_output_dim", CallConvs = [typeof(CallConvCdecl)])]
    public static int OutputDimension(nint client, byte* model, long* outputDimension) =>
        Number(client, model, outputDimension, "maas_model_output_dim", static info => info.OutputDimension);

    [UnmanagedCallersOnly(EntryPoint = "maas_model_parameter_count", CallConvs = [typeof(CallConvCdecl)])]
    public static int ParameterCount(nint client, byte* model, long* count) =>
        Number(client, model, count, "maas_model_parameter_count", static info => info.ParameterCount);

    [UnmanagedCallersOnly(EntryPoint = "maas_model_capabilities", CallConvs = [typeof(CallConvCdecl)])]
    public static int Capabilities(nint client, byte* model, uint* capabilities) =>
        Number(client, model, capabilities, "maas_model_capabilities", static info => (uint)info.Capabilities);

    [UnmanagedCallersOnly(EntryPoint = "maas_model_name", CallConvs = [typeof(CallConvCdecl)])]
    public static int Name(nint client, byte* model, byte** name) =>
        Text(client, model, name, "maas_model_name", static info => info.Name);

    [UnmanagedCallersOnly(EntryPoint = "maas_model_uuid", CallConvs = [typeof(CallConvCdecl)])]
    public static int Uuid(nint client, byte* model, byte** uuid) =>
        Text(client, model, uuid, "maas_model_uuid", static info => info.Uuid.ToString("D"));

    [UnmanagedCallersOnly(EntryPoint = "maas_model_version", CallConvs = [typeof(CallConvCdecl)])]
    public static int Version(nint client, byte* model, byte** version) =>
        Text(client, model, version, "maas_model_version", static info => info.Version);

    [UnmanagedCallersOnly(EntryPoint = "maas_model_parameter_sizes", CallConvs = [typeof(CallConvCdecl)])]
    public static int ParameterSizes(nint client, byte* model, long* sizes, long capacity, long* count)
    {
        NativeErrors.Clear();
        try
        {
            if (count is not null) { *count = 0; }
            var parameters = Info(client, model).Parameters;
            if (count is not null) { *count = parameters.Count; }
            if (parameters.Count > 0 && sizes is null)
            {
                return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_model_parameter_sizes: the sizes buffer is NULL but the model has {parameters.Count} parameters (the count is in *count).");
            }

            if (capacity < parameters.Count)
            {
                return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_model_parameter_sizes: the sizes buffer holds {capacity} values but the model has {parameters.Count} parameters (the count is in *count).");
            }

            for (int i = 0; i < parameters.Count; i++)
            {
                sizes[i] = parameters[i].Size;
            }

            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "maas_model_parameter_name", CallConvs = [typeof(CallConvCdecl)])]
    public static int ParameterName(nint client, byte* model, long index, byte** name)
    {
        NativeErrors.Clear();
        try
        {
            if (name is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, "maas_model_parameter_name: out pointer is NULL."); }
            *name = null;
            var info = Info(client, model);
            if (index < 0 || index >= info.Parameters.Count)
            {
                return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"maas_model_parameter_name: index {index} is out of range; model '{info.Name}' has {info.Parameters.Count} parameters.");
            }

            *name = NativeStrings.Allocate(info.Parameters[(int)index].Name);
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    private static ModelInfo Info(nint client, byte* model) =>
        HandleTable.Get<NativeClient>(client, "client").Model(NativeStrings.Required(model, "model name")).Info;

    private static int Number<T>(nint client, byte* model, T* result, string function, Func<ModelInfo, T> read)
        where T : unmanaged
    {
        NativeErrors.Clear();
        try
        {
            if (result is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"{function}: out pointer is NULL."); }
            // Zeroed first: when the lookup below fails the caller still reads 0, as the header promises.
            *result = default;
            *result = read(Info(client, model));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }

    private static int Text(nint client, byte* model, byte** result, string function, Func<ModelInfo, string> read)
    {
        NativeErrors.Clear();
        try
        {
            if (result is null) { return NativeErrors.Fail(MaasErrorCode.InvalidArgument, $"{function}: out pointer is NULL."); }
            *result = null;
            *result = NativeStrings.Allocate(read(Info(client, model)));
            return 0;
        }
        catch (Exception ex)
        {
            return NativeErrors.Fail(ex);
        }
    }
}
