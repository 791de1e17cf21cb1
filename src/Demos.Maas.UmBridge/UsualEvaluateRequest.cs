using System.Globalization;

namespace Demos.Maas.UmBridge;

/// <summary>
/// A scanner for the one request shape a UM-Bridge client sends in its loop:
/// <c>{"name": "…", "input": [[numbers]], "config": {}}</c>, keys in any order, JSON whitespace
/// anywhere between tokens, <c>config</c> optional.
/// </summary>
/// <remarks>
/// It accepts a strict subset of what the JSON reader of the short path accepts and reads it to the
/// same values: each key once and without escapes, a name of printable ASCII without escapes, one
/// input vector of 1 to <c>values.Length</c> numbers in JSON's own number grammar, each finite.
/// Anything else (another key, an escape, a non-ASCII name, a number that overflows, trailing
/// content) makes it return false and the reader decides, so it never answers differently; it only
/// spends less time on the usual request than a general reader does, which a client that sleeps
/// while it waits feels several times over (docs/http.md).
/// </remarks>
internal static class UsualEvaluateRequest
{
    /// <summary>Scans <paramref name="json"/>; on success <paramref name="values"/> holds the point and <paramref name="name"/> the name's bytes' place.</summary>
    public static bool TryScan(ReadOnlySpan<byte> json, Span<double> values, out int count, out Range name)
    {
        count = 0;
        name = default;
        bool sawName = false, sawInput = false, sawConfig = false;
        int at = SkipSpace(json, 0);
        if (!Take(json, ref at, (byte)'{'))
        {
            return false;
        }

        while (true)
        {
            at = SkipSpace(json, at);
            if (!TryKey(json, ref at, out var key))
            {
                return false;
            }

            at = SkipSpace(json, at);
            if (!Take(json, ref at, (byte)':'))
            {
                return false;
            }

            at = SkipSpace(json, at);
            switch (key)
            {
                case Key.Name when !sawName:
                    sawName = true;
                    if (!TryName(json, ref at, out name))
                    {
                        return false;
                    }

                    break;
                case Key.Input when !sawInput:
                    sawInput = true;
                    if (!TryPoint(json, ref at, values, out count))
                    {
                        return false;
                    }

                    break;
                case Key.Config when !sawConfig:
                    sawConfig = true;
                    if (!Take(json, ref at, (byte)'{'))
                    {
                        return false;
                    }

                    at = SkipSpace(json, at);
                    if (!Take(json, ref at, (byte)'}'))
                    {
                        return false;
                    }

                    break;
                default:
                    // Another key, or one given twice: the reader decides.
                    return false;
            }

            at = SkipSpace(json, at);
            if (Take(json, ref at, (byte)','))
            {
                continue;
            }

            if (!Take(json, ref at, (byte)'}'))
            {
                return false;
            }

            return sawName && sawInput && SkipSpace(json, at) == json.Length;
        }
    }

    private enum Key
    {
        Name,
        Input,
        Config,
    }

    private static bool TryKey(ReadOnlySpan<byte> json, ref int at, out Key key)
    {
        var rest = json[at..];
        (key, int length) = rest switch
        {
            _ when rest.StartsWith("\"name\""u8) => (Key.Name, 6),
            _ when rest.StartsWith("\"input\""u8) => (Key.Input, 7),
            _ when rest.StartsWith("\"config\""u8) => (Key.Config, 8),
            _ => (default(Key), 0),
        };
        at += length;
        return length > 0;
    }

    // A string of printable ASCII without escapes.
    private static bool TryName(ReadOnlySpan<byte> json, ref int at, out Range name)
    {
        name = default;
        if (!Take(json, ref at, (byte)'"'))
        {
            return false;
        }

        int start = at;
        while (at < json.Length && json[at] is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\')
        {
            at++;
        }

        name = start..at;
        return Take(json, ref at, (byte)'"');
    }

    // [[n, n, …]] with 1 to values.Length finite numbers.
    private static bool TryPoint(ReadOnlySpan<byte> json, ref int at, Span<double> values, out int count)
    {
        count = 0;
        if (!Take(json, ref at, (byte)'['))
        {
            return false;
        }

        at = SkipSpace(json, at);
        if (!Take(json, ref at, (byte)'['))
        {
            return false;
        }

        while (true)
        {
            at = SkipSpace(json, at);
            if (count == values.Length || !TryNumber(json, ref at, out values[count]))
            {
                return false;
            }

            count++;
            at = SkipSpace(json, at);
            if (Take(json, ref at, (byte)','))
            {
                continue;
            }

            if (!Take(json, ref at, (byte)']'))
            {
                return false;
            }

            at = SkipSpace(json, at);
            return Take(json, ref at, (byte)']');
        }
    }

    // JSON's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, parsed to the nearest double; false when not finite.
    private static bool TryNumber(ReadOnlySpan<byte> json, ref int at, out double value)
    {
        value = 0;
        int start = at;
        Take(json, ref at, (byte)'-');
        if (Take(json, ref at, (byte)'0'))
        {
            // No leading zeros: "01" is not JSON.
        }
        else if (at < json.Length && json[at] is >= (byte)'1' and <= (byte)'9')
        {
            at = SkipDigits(json, at);
        }
        else
        {
            return false;
        }

        if (Take(json, ref at, (byte)'.'))
        {
            int digits = at;
            at = SkipDigits(json, at);
            if (at == digits)
            {
                return false;
            }
        }

        if (at < json.Length && json[at] is (byte)'e' or (byte)'E')
        {
            at++;
            if (at < json.Length && json[at] is (byte)'+' or (byte)'-')
            {
                at++;
            }

            int digits = at;
            at = SkipDigits(json, at);
            if (at == digits)
            {
                return false;
            }
        }

        return double.TryParse(json[start..at], NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    private static int SkipDigits(ReadOnlySpan<byte> json, int at)
    {
        while (at < json.Length && json[at] is >= (byte)'0' and <= (byte)'9')
        {
            at++;
        }

        return at;
    }

    private static int SkipSpace(ReadOnlySpan<byte> json, int at)
    {
        while (at < json.Length && json[at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            at++;
        }

        return at;
    }

    private static bool Take(ReadOnlySpan<byte> json, ref int at, byte expected)
    {
        if (at < json.Length && json[at] == expected)
        {
            at++;
            return true;
        }

        return false;
    }
}
