using System.Text.Json;

namespace Demos.Maas.Registry;

/// <summary>
/// The checksum that identifies one version of a model (docs/identity.md §3): SHA-256 over the
/// canonical JSON of what the model says of itself (its <see cref="ModelInfo"/>: uuid, name, version,
/// metadata, capabilities, shapes, parameters) and the digest of the artifact it is served from.
/// A client recomputes it from the info an endpoint answers with, so it can tell, before any call,
/// whether what answers is what a reference names.
/// </summary>
public static class ModelChecksum
{
    /// <summary><c>sha256:</c> and the lowercase hex SHA-256 of <see cref="CanonicalBytes"/>.</summary>
    public static string Compute(ModelInfo info, string? artifact) =>
        "sha256:" + Convert.ToHexStringLower(Security.Sha256.HashData(CanonicalBytes(info, artifact)));

    /// <summary>The digest of an artifact file (a shared library, an assembly): <c>sha256:</c> and its lowercase hex SHA-256.</summary>
    public static string ForFile(string path)
    {
        // Managed SHA-256 (the platform's loads OpenSSL, which a FROM scratch image lacks).
        return "sha256:" + Convert.ToHexStringLower(Security.Sha256.HashData(File.ReadAllBytes(path)));
    }

    /// <summary>The canonical JSON the checksum is taken over: fixed member order, no whitespace, numbers in shortest round-trip form.</summary>
    public static byte[] CanonicalBytes(ModelInfo info, string? artifact)
    {
        ArgumentNullException.ThrowIfNull(info);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("checksum_version", "1");
            w.WriteString("uuid", info.Uuid.ToString("D"));
            w.WriteString("name", info.Name);
            w.WriteString("version", info.Version);
            WriteNullable(w, "description", info.Description);
            w.WriteStartArray("authors");
            foreach (string author in info.Authors)
            {
                w.WriteStringValue(author);
            }

            w.WriteEndArray();
            WriteNullable(w, "doi", info.Doi);
            w.WriteNumber("capabilities", (long)info.Capabilities);
            w.WriteNumber("input_dimension", info.InputDimension);
            w.WriteNumber("output_dimension", info.OutputDimension);
            w.WriteString("dtype", info.DType);
            w.WriteStartArray("parameters");
            foreach (var p in info.Parameters)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                WriteNumbers(w, "shape", p.Shape.Select(s => (double)s).ToList());
                WriteNumbers(w, "default", p.Default);
                WriteNumbers(w, "lower", p.Lower);
                WriteNumbers(w, "upper", p.Upper);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("artifact", artifact ?? "");
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteNumbers(Utf8JsonWriter w, string name, IReadOnlyList<double>? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartArray(name);
        foreach (double v in values)
        {
            // JSON has no infinities (unbounded parameters have them): written as strings.
            if (double.IsFinite(v))
            {
                w.WriteNumberValue(v);
            }
            else
            {
                w.WriteStringValue(double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
            }
        }

        w.WriteEndArray();
    }
}
