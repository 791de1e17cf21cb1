using Demos.Maas.Protocol;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Demos.Maas.Transports.Http;

namespace Demos.Maas.Cli;

/// <summary>
/// Matrices as text for the shell: CSV (one row per line), and JSON in the form of the HTTP routes
/// (<see cref="MaasJson"/>: arrays of rows; non-finite numbers as "NaN", "Infinity", "-Infinity").
/// </summary>
internal static class MatrixText
{
    /// <summary>
    /// Rows of x from JSON: an array of rows (read by <see cref="MaasJson.ReadMatrix"/>, the form of
    /// the HTTP routes), or, as a shell convenience, a flat array of numbers meaning one-value points.
    /// </summary>
    public static DoubleMatrix ParseJsonRows(JsonElement element, string what)
    {
        if (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() > 0 && element.EnumerateArray().All(e => e.ValueKind != JsonValueKind.Array))
        {
            return DoubleMatrix.FromColumn(MaasJson.ReadVector(element, what));
        }

        return MaasJson.ReadMatrix(element, what);
    }

    /// <summary>
    /// Rows of x from CSV: one row per line, values separated by commas; blank lines and lines
    /// starting with '#' are skipped, and so is a first line holding no number at all (a header).
    /// </summary>
    public static DoubleMatrix ParseCsv(string text)
    {
        var rows = new List<double[]>();
        int line = 0;
        bool headerSeen = false;
        foreach (var raw in text.Split('\n'))
        {
            line++;
            string trimmed = raw.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            var cells = trimmed.Split(',');
            if (rows.Count == 0 && !headerSeen && cells.All(c => !double.TryParse(c.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            {
                // A first row without any number names the columns (x1,x2): skip it.
                headerSeen = true;
                continue;
            }

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

    private static MaasException Invalid(string message) => new(MaasErrorCode.InvalidArgument, message);
}
