namespace Demos.Maas.Registry;

/// <summary>The JSON body of a registry error answer.</summary>
internal sealed class RegistryErrorBody
{
    public string Error { get; set; } = "";

    public string? Field { get; set; }

    public string Message { get; set; } = "";
}
