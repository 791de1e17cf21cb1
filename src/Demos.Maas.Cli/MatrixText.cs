using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Demos.Maas.Cli;

/// <summary>
/// Matrices as text for the shell: JSON (arrays of rows; non-finite numbers as the strings "NaN",
/// "Infinity", "-Infinity", since JSON has no such numbers) and CSV (one row per line).
/// </summary>
internal static class MatrixText
{
    public static DoubleMatrix ParseJsonRows(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Invalid($"{what} must be an array of rows, e.g. [[0.5, 1.0], [2.0, 3.0]] (or a flat array for one-value points).");
        }

        var rows = new List<double[]>();
        foreach (var row in element.EnumerateArray())
        {
            rows.Add(row.ValueKind == JsonValueKind.Array ? ParseVector(row, what) : [Number(row, what)]);
        }

        if (rows.Count > 0 && rows.Any(r => r.Length != rows[0].Length))
        {
            throw Invalid($"the rows of {what} have different lengths.");
        }

        return DoubleMatrix.FromRows([.. rows]);
    }

    public static double[] ParseVector(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Invalid($"{what} must be an array of numbers.");
        }

        return [.. element.EnumerateArray().Select(v => Number(v, what))];
    }

    public static DoubleMatrix ParseCsv(string text)
    {
        var rows = new List<double[]>();
        int line = 0;
        foreach (var raw in text.Split('\n'))
        {
            line++;
            string trimmed = raw.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            var cells = trimmed.Split(',');
            var row = new double[cells.Length];
            for (int i = 0; i < cells.Length; i++)
            {
                if (!double.TryParse(cells[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out row[i]))
                {
                    throw Invalid($"CSV line {line}, column {i + 1}: '{cells[i].Trim()}' is not a number.");
                }
            }

            if (rows.Count > 0 && row.Length != rows[0].Length)
            {
                throw Invalid($"CSV line {line} has {row.Length} values; the first row has {rows[0].Length}.");
            }

            rows.Add(row);
        }

        return DoubleMatrix.FromRows([.. rows]);
    }

    public static void WriteJson(Utf8JsonWriter writer, DoubleMatrix m)
    {
        writer.WriteStartArray();
        for (int i = 0; i < m.Rows; i++)
        {
            writer.WriteStartArray();
            foreach (double v in m.Row(i))
            {
                WriteNumber(writer, v);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndArray();
    }

    public static void WriteNumber(Utf8JsonWriter writer, double v)
    {
        if (double.IsFinite(v))
        {
            writer.WriteNumberValue(v);
        }
        else
        {
            writer.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }

    public static string ToCsv(DoubleMatrix m)
    {
        var text = new StringBuilder();
        for (int i = 0; i < m.Rows; i++)
        {
            text.AppendJoin(',', m.Row(i).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
            text.Append('\n');
        }

        return text.ToString();
    }

    private static double Number(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String => value.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw Invalid($"{what}: '{s}' is not a number (non-finite values are \"NaN\", \"Infinity\", \"-Infinity\")."),
        },
        _ => throw Invalid($"{what}: {value.ValueKind} is not a number."),
    };

    private static MaasException Invalid(string message) => new(MaasErrorCode.InvalidArgument, message);
}
