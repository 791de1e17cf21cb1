using System.Buffers;
using System.Text;
using System.Text.Json;
using Demos.Maas.Protocol;

namespace Demos.Maas.Native;

/// <summary>
/// The JSON documents of the C ABI (model info, parameters, configurations), written and read by
/// hand with Utf8JsonWriter and JsonDocument: no reflection, so nothing for the AOT trimmer to lose.
/// </summary>
internal static class NativeJson
{
    /// <summary>Model info in the one JSON form of REST, the tool and the ABI (<see cref="MaasJson.WriteInfo"/>).</summary>
    public static string Info(ModelInfo info) => Write(w => MaasJson.WriteInfo(w, info));

    /// <summary>A JSON array of model infos.</summary>
    public static string Infos(IReadOnlyList<ModelInfo> infos) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var info in infos)
        {
            MaasJson.WriteInfo(w, info);
        }

        w.WriteEndArray();
    });

    /// <summary><c>{"version": v, "values": {"name": [..], ...}}</c>.</summary>
    public static string Parameters(ParameterSet set) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("version", set.Version);
        w.WriteStartObject("values");
        foreach (var (name, values) in set.Values)
        {
            w.WritePropertyName(name);
            WriteArray(w, values);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    });

    /// <summary>Reads <c>{"name": [..] or number, ...}</c> or <c>{"values": {...}, "update_id": "..."}</c>.</summary>
    public static ParameterUpdate ParseUpdate(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, "Parameter update JSON must be an object.");
        }

        string? updateId = null;
        var values = root;
        if (root.TryGetProperty("values", out var nested) && nested.ValueKind == JsonValueKind.Object)
        {
            values = nested;
            updateId = root.TryGetProperty("update_id", out var id) ? id.GetString() : null;
        }

        var update = new ParameterUpdate { UpdateId = updateId };
        foreach (var property in values.EnumerateObject())
        {
            update.Values[property.Name] = Doubles(property.Value, property.Name);
        }

        return update;
    }

    /// <summary>A number or an array of numbers.</summary>
    public static double[] Doubles(JsonElement element, string what) => element.ValueKind switch
    {
        JsonValueKind.Number => [element.GetDouble()],
        JsonValueKind.Array => [.. element.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{what}' must hold numbers only."))],
        _ => throw new MaasException(MaasErrorCode.InvalidArgument, $"'{what}' must be a number or an array of numbers."),
    };

    /// <summary>A string property, or null.</summary>
    public static string? String(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>An integer property, or null.</summary>
    public static long? Long(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    /// <summary>A boolean property, or null.</summary>
    public static bool? Bool(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>Parses a caller's JSON text, with the offending document named in the error.</summary>
    public static JsonDocument Parse(string json, string what)
    {
        try
        {
            var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new MaasException(MaasErrorCode.InvalidArgument, $"{what} must be a JSON object.");
            }

            return document;
        }
        catch (JsonException ex)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{what} is not valid JSON: {ex.Message}");
        }
    }

    // JSON has no NaN or infinities: they are written as null.
    private static void WriteArray(Utf8JsonWriter w, IReadOnlyList<double> values)
    {
        w.WriteStartArray();
        foreach (double v in values)
        {
            if (double.IsFinite(v))
            {
                w.WriteNumberValue(v);
            }
            else
            {
                w.WriteNullValue();
            }
        }

        w.WriteEndArray();
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
