using System.Globalization;
using System.Text.RegularExpressions;

namespace Demos.Maas.Registry;

/// <summary>A semantic version (semver.org 2.0), ordered by precedence: numbers, then a release above its pre-releases; build metadata is ignored.</summary>
internal readonly partial record struct SemanticVersion(long Major, long Minor, long Patch, string PreRelease) : IComparable<SemanticVersion>
{
    public static bool TryParse(string text, out SemanticVersion version)
    {
        var match = Pattern().Match(text ?? "");
        if (!match.Success
            || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long major)
            || !long.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long minor)
            || !long.TryParse(match.Groups[3].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long patch))
        {
            version = default;
            return false;
        }

        version = new SemanticVersion(major, minor, patch, match.Groups[4].Value);
        return true;
    }

    public int CompareTo(SemanticVersion other)
    {
        int c = Major.CompareTo(other.Major);
        c = c != 0 ? c : Minor.CompareTo(other.Minor);
        c = c != 0 ? c : Patch.CompareTo(other.Patch);
        if (c != 0 || PreRelease == other.PreRelease)
        {
            return c;
        }

        if (PreRelease.Length == 0 || other.PreRelease.Length == 0)
        {
            return PreRelease.Length == 0 ? 1 : -1;
        }

        return ComparePreRelease(PreRelease, other.PreRelease);
    }

    /// <summary>The highest of <paramref name="versions"/> by precedence (unparsable ones lowest).</summary>
    public static string? Latest(IEnumerable<string> versions) =>
        versions.OrderByDescending(v => TryParse(v, out var s) ? s : new SemanticVersion(-1, 0, 0, "")).FirstOrDefault();

    private static int ComparePreRelease(string a, string b)
    {
        var x = a.Split('.');
        var y = b.Split('.');
        for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            bool xn = long.TryParse(x[i], NumberStyles.None, CultureInfo.InvariantCulture, out long xv);
            bool yn = long.TryParse(y[i], NumberStyles.None, CultureInfo.InvariantCulture, out long yv);
            int c = xn && yn ? xv.CompareTo(yv) : xn ? -1 : yn ? 1 : string.CompareOrdinal(x[i], y[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return x.Length.CompareTo(y.Length);
    }

    [GeneratedRegex(@"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")]
    private static partial Regex Pattern();
}
