namespace Demos.Maas.Models;

/// <summary>The last <see cref="ArrivalSpectrumTable"/> made, reused while theta does not change.</summary>
internal sealed class ArrivalSpectrumCache
{
    // A reference, so concurrent calls see a whole table or none.
    private ArrivalSpectrumTable? _last;

    public ArrivalSpectrumTable Get(ReadOnlySpan<double> theta)
    {
        var last = _last;
        if (last is not null && last.IsFor(theta))
        {
            return last;
        }

        last = new ArrivalSpectrumTable(theta);
        _last = last;
        return last;
    }
}
