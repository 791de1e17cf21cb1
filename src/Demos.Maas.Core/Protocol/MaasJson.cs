using System.Buffers;
using System.Globalization;
using System.Text.Json;
namespace Demos.Maas.Protocol;

/// <summary>
/// The one JSON form of requests, results, model info and errors, used by the REST routes
/// (docs/http.md), the <c>maas</c> tool and the C ABI alike. Written with
/// <see cref="Utf8JsonWriter"/> and read with <see cref="JsonDocument"/>: no reflection, so it runs
/// under NativeAOT. JSON has no NaN or infinities; they travel as the strings <c>"NaN"</c>,
/// <c>"Infinity"</c> and <c>"-Infinity"</c>, and every number position accepts those strings.
/// </summary>
public static class MaasJson
{
    /// <summary>The media type.</summary>
    public const string MediaType = "application/json";

    /// <summary>Writes a number; non-finite values as their strings.</summary>
    public static void WriteNumber(Utf8JsonWriter writer, double value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    /// <summary>Writes a vector as a JSON array.</summary>
    public static void WriteVector(Utf8JsonWriter writer, ReadOnlySpan<double> values)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartArray();
        foreach (double v in values)
        {
            WriteNumber(writer, v);
        }

        writer.WriteEndArray();
    }

    /// <summary>Writes a matrix as an array of rows.</summary>
    public static void WriteMatrix(Utf8JsonWriter writer, DoubleMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(matrix);
        writer.WriteStartArray();
        for (int r = 0; r < matrix.Rows; r++)
        {
            WriteVector(writer, matrix.Row(r));
        }

        writer.WriteEndArray();
    }

    /// <summary>Reads a number or one of the non-finite strings.</summary>
    /// <exception cref="MaasException">InvalidArgument for anything else.</exception>
    public static double ReadNumber(JsonElement element, string field)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return element.GetDouble();
            case JsonValueKind.String:
                var s = element.GetString();
                return s switch
                {
                    "NaN" => double.NaN,
                    "Infinity" or "+Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    _ => throw new MaasException(MaasErrorCode.InvalidArgument, $"'{field}': \"{s}\" is not a number (numbers are JSON numbers or the strings \"NaN\", \"Infinity\", \"-Infinity\")."),
                };
            default:
                throw new MaasException(MaasErrorCode.InvalidArgument, $"'{field}': expected a number, got {element.ValueKind}.");
        }
    }

    /// <summary>Reads an array of numbers.</summary>
    public static double[] ReadVector(JsonElement element, string field)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{field}': expected an array of numbers, got {element.ValueKind}.");
        }

        var result = new double[element.GetArrayLength()];
        int i = 0;
        foreach (var item in element.EnumerateArray())
        {
            result[i++] = ReadNumber(item, field);
        }

        return result;
    }

    /// <summary>Reads an array of equally long rows into a pooled matrix.</summary>
    public static DoubleMatrix ReadMatrix(JsonElement element, string field)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{field}': expected an array of rows (arrays of numbers), got {element.ValueKind}.");
        }

        int rows = element.GetArrayLength();
        int columns = CheckRows(element, field);
        DoubleMatrix? matrix = rows == 0 ? null : DoubleMatrix.Rent(rows, columns);
        try
        {
            int r = 0;
            foreach (var row in element.EnumerateArray())
            {
                var target = matrix!.Row(r);
                int c = 0;
                foreach (var value in row.EnumerateArray())
                {
                    target[c++] = ReadNumber(value, field);
                }

                r++;
            }

            return matrix ?? DoubleMatrix.Rent(0, 0);
        }
        catch
        {
            matrix?.Dispose();
            throw;
        }
    }

    // Every row is checked before anything is allocated: sizing the matrix from row 0 alone would let
    // [[2000 numbers],[],[],...] ask for rows x 2000 doubles. The parsed document holds every number,
    // so rows x columns is bounded by the body size once the rows are known to be equally long.
    private static int CheckRows(JsonElement element, string field)
    {
        int columns = -1, r = 0;
        foreach (var row in element.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"'{field}': row {r} is {row.ValueKind}, not an array of numbers.");
            }

            int length = row.GetArrayLength();
            if (columns < 0)
            {
                columns = length;
            }
            else if (length != columns)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, $"'{field}': row {r} has {length} values, row 0 has {columns}; rows must be equally long.");
            }

            r++;
        }

        return Math.Max(columns, 0);
    }

    /// <summary>Parses a JSON document with a clear error for malformed text.</summary>
    /// <exception cref="MaasException">ProtocolError for text that is not JSON.</exception>
    public static JsonDocument Parse(ReadOnlySequence<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MessageCodec.MaxSkipDepth });
        }
        catch (JsonException ex)
        {
            throw new MaasException(MaasErrorCode.ProtocolError, $"Malformed JSON body: {ex.Message}");
        }
    }

    /// <summary>Fills <paramref name="request"/> from a JSON request object (keys as in the MessagePack body, docs/http.md).</summary>
    public static void ReadRequest(ReadOnlySequence<byte> body, MaasRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (body.IsEmpty)
        {
            return;
        }

        using var document = Parse(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"The JSON body must be an object, not {root.ValueKind}.");
        }

        // Everything in the body comes from the client: a value of the wrong kind or a string that is
        // not valid UTF-8 is the caller's mistake (InvalidArgument, 400), never a server failure.
        try
        {
            foreach (var property in root.EnumerateObject())
            {
                var value = property.Value;
                switch (property.Name)
                {
                    case "x": request.X?.Dispose(); request.X = ReadMatrix(value, "x"); break;
                    case "theta": request.Theta = ReadVector(value, "theta"); break;
                    case "v": request.Vector?.Dispose(); request.Vector = ReadMatrix(value, "v"); break;
                    case "kind": request.GradientKind = ReadGradientKind(value); break;
                    case "n": request.Count = ReadInteger(value, "n"); break;
                    case "seed": request.Seed = value.ValueKind == JsonValueKind.Null ? null : value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out ulong seed) ? seed : throw new MaasException(MaasErrorCode.InvalidArgument, $"'seed': expected an integer in 0..2^64-1, got {value}."); break;
                    case "chunk": request.ChunkRows = (int)Math.Min(int.MaxValue, ReadInteger(value, "chunk")); break;
                    case "offset": request.Offset = ReadInteger(value, "offset"); break;
                    case "dataset": request.Dataset = value.GetString(); break;
                    case "cache": request.Cache = ReadCacheMode(value); break;
                    case "trace": request.TraceParent = value.GetString(); break;
                    case "timeout_us": request.TimeoutMicros = ReadInteger(value, "timeout_us"); break;
                    case "values":
                        request.Update = new ParameterUpdate { Values = ReadValues(value), UpdateId = request.Update?.UpdateId };
                        break;
                    case "update_id":
                        request.Update = new ParameterUpdate { Values = request.Update?.Values ?? new(StringComparer.Ordinal), UpdateId = value.GetString() };
                        break;
                    default:
                        break; // Unknown keys are ignored, as in the binary protocol.
                }
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"The JSON body has a value of the wrong kind or text that is not valid UTF-8: {ex.Message}", ex);
        }
    }

    private static long ReadInteger(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) ? n
        : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{field}': expected an integer, got {value}.");

    private static Dictionary<string, double[]> ReadValues(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, "'values': expected an object mapping parameter names to arrays of numbers.");
        }

        var values = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var p in value.EnumerateObject())
        {
            values[p.Name] = p.Value.ValueKind == JsonValueKind.Array ? ReadVector(p.Value, p.Name) : [ReadNumber(p.Value, p.Name)];
        }

        return values;
    }

    private static GradientKind ReadGradientKind(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return (GradientKind)ReadInteger(value, "kind");
        }

        return value.GetString() switch
        {
            "x" or "LogDensityWrtX" => GradientKind.LogDensityWrtX,
            "theta" or "LogDensityWrtTheta" => GradientKind.LogDensityWrtTheta,
            "vjp" or "EvaluateVjp" => GradientKind.EvaluateVjp,
            "jvp" or "EvaluateJvp" => GradientKind.EvaluateJvp,
            var other => throw new MaasException(MaasErrorCode.InvalidArgument, $"'kind': unknown gradient kind '{other}' (use x, theta, vjp or jvp)."),
        };
    }

    private static CacheMode ReadCacheMode(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? (CacheMode)ReadInteger(value, "cache")
        : value.GetString() switch
        {
            "use" or "Use" => CacheMode.Use,
            "bypass" or "Bypass" => CacheMode.Bypass,
            _ => CacheMode.Default,
        };

    /// <summary>Writes a unary response for <paramref name="operation"/>.</summary>
    public static void WriteResponse(Utf8JsonWriter writer, Operation operation, MaasResponse response)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(response);
        writer.WriteStartObject();
        switch (operation)
        {
            case Operation.ListModels:
                writer.WritePropertyName("models");
                writer.WriteStartArray();
                foreach (var info in response.Models ?? [])
                {
                    WriteInfo(writer, info);
                }

                writer.WriteEndArray();
                break;
            case Operation.Info:
                writer.WritePropertyName("info");
                WriteInfo(writer, response.Info!);
                break;
            case Operation.ListData:
                writer.WritePropertyName("datasets");
                writer.WriteStartArray();
                foreach (var d in response.Datasets ?? [])
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", d.Name);
                    writer.WriteNumber("rows", d.Rows);
                    writer.WriteNumber("cols", d.Columns);
                    if (d.Description is not null) { writer.WriteString("description", d.Description); }
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                break;
            case Operation.GetParameters or Operation.UpdateParameters:
                var set = response.Parameters!;
                writer.WriteNumber("version", set.Version);
                writer.WritePropertyName("values");
                writer.WriteStartObject();
                foreach (var kv in set.Values)
                {
                    writer.WritePropertyName(kv.Key);
                    WriteVector(writer, kv.Value);
                }

                writer.WriteEndObject();
                break;
            default:
                writer.WritePropertyName("y");
                WriteMatrix(writer, response.Y!);
                break;
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes a model info object: <c>uuid</c>, <c>name</c>, <c>version</c>, <c>description</c>?,
    /// <c>authors</c>, <c>doi</c>?, <c>capabilities</c> (names, see <see cref="CapabilityName"/>),
    /// <c>caps</c> (the same as a bit mask), <c>dtype</c>, <c>input_dim</c>, <c>output_dim</c>,
    /// <c>parameter_count</c>, and <c>parameters</c> (each: <c>name</c>, <c>shape</c>,
    /// <c>default</c>, <c>lower</c>?, <c>upper</c>?, <c>description</c>?).
    /// </summary>
    public static void WriteInfo(Utf8JsonWriter writer, ModelInfo info)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(info);
        writer.WriteStartObject();
        writer.WriteString("uuid", info.Uuid.ToString("D", CultureInfo.InvariantCulture));
        writer.WriteString("name", info.Name);
        writer.WriteString("version", info.Version);
        if (info.Description is not null) { writer.WriteString("description", info.Description); }
        writer.WriteStartArray("authors");
        foreach (var a in info.Authors) { writer.WriteStringValue(a); }
        writer.WriteEndArray();
        if (info.Doi is not null) { writer.WriteString("doi", info.Doi); }
        writer.WriteStartArray("capabilities");
        foreach (var cap in Enum.GetValues<ModelCapabilities>())
        {
            if (cap != ModelCapabilities.None && info.Has(cap)) { writer.WriteStringValue(CapabilityName(cap)); }
        }

        writer.WriteEndArray();
        writer.WriteNumber("caps", (int)info.Capabilities);
        writer.WriteString("dtype", info.DType);
        writer.WriteNumber("input_dim", info.InputDimension);
        writer.WriteNumber("output_dim", info.OutputDimension);
        writer.WriteNumber("parameter_count", info.ParameterCount);
        writer.WriteStartArray("parameters");
        foreach (var p in info.Parameters)
        {
            writer.WriteStartObject();
            writer.WriteString("name", p.Name);
            writer.WriteStartArray("shape");
            foreach (int s in p.Shape) { writer.WriteNumberValue(s); }
            writer.WriteEndArray();
            writer.WritePropertyName("default");
            WriteVector(writer, [.. p.Default]);
            if (p.Lower is not null) { writer.WritePropertyName("lower"); WriteVector(writer, [.. p.Lower]); }
            if (p.Upper is not null) { writer.WritePropertyName("upper"); WriteVector(writer, [.. p.Upper]); }
            if (p.Description is not null) { writer.WriteString("description", p.Description); }
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The name of a capability in JSON (and in the metadata a native server registers).</summary>
    public static string CapabilityName(ModelCapabilities capability) => capability switch
    {
        ModelCapabilities.Evaluate => "evaluate",
        ModelCapabilities.LogDensity => "log_density",
        ModelCapabilities.Sample => "sample",
        ModelCapabilities.GradientX => "gradient",
        ModelCapabilities.GradientTheta => "gradient_theta",
        ModelCapabilities.EvaluateVjp => "vjp",
        ModelCapabilities.EvaluateJvp => "jvp",
        ModelCapabilities.Data => "data",
        ModelCapabilities.Parameters => "parameters",
        _ => capability.ToString().ToLowerInvariant(),
    };

    /// <summary>Writes <c>{"error": {"code", "name", "message", "details"?}}</c>.</summary>
    public static void WriteError(Utf8JsonWriter writer, MaasErrorCode code, string message, IReadOnlyDictionary<string, string>? details = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteNumber("code", (int)code);
        writer.WriteString("name", code.ToString());
        writer.WriteString("message", message);
        if (details is { Count: > 0 })
        {
            writer.WriteStartObject("details");
            foreach (var kv in details.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                writer.WriteString(kv.Key, kv.Value);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Reads an error body written by <see cref="WriteError"/>; null when the body is not one.</summary>
    public static MaasException? TryReadError(ReadOnlySequence<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? (MaasErrorCode)c.GetInt32() : MaasErrorCode.Internal;
                var message = error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                return new MaasException(code, message);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the caller falls back to the status.
        }

        return null;
    }
}
