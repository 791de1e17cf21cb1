using System.Text.Json;

namespace Demos.Maas.Registry;

/// <summary>Reads, validates and writes <c>maas_reference</c> documents (System.Text.Json source generation: NativeAOT-clean).</summary>
public static class MaasReferenceJson
{
    /// <summary>Parses and validates a document.</summary>
    /// <exception cref="RegistryException">MalformedReference, naming the field at fault and what was expected.</exception>
    public static MaasReference Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new RegistryException(RegistryError.MalformedReference, $"maas_reference: not JSON ({ex.Message}).", null, ex);
        }

        using (document)
        {
            return ReferenceValidation.Read(document.RootElement);
        }
    }

    /// <summary>Reads and validates a document file.</summary>
    /// <exception cref="RegistryException">MalformedReference (including a file that cannot be read).</exception>
    public static MaasReference Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RegistryException(RegistryError.MalformedReference, $"maas_reference: cannot read '{path}': {ex.Message}", null, ex);
        }

        return Parse(text);
    }

    /// <summary>Validates <paramref name="reference"/> (as <see cref="Parse"/> would) and writes it, indented.</summary>
    /// <exception cref="RegistryException">MalformedReference.</exception>
    public static string Serialize(MaasReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        string json = JsonSerializer.Serialize(reference, IndentedContext.MaasReference);
        Parse(json);
        return json;
    }

    private static readonly RegistryJsonContext IndentedContext = new(new JsonSerializerOptions(RegistryJsonContext.Default.Options) { WriteIndented = true });
}
