namespace Demos.Maas;

/// <summary>Turns a <see cref="DataRequest"/>'s offset and count into a checked row range.</summary>
internal static class DatasetSlice
{
    /// <summary>Returns (offset, count) with count resolved; throws InvalidArgument when out of range.</summary>
    public static (long Offset, long Count) Resolve(string model, DatasetInfo dataset, DataRequest request)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Offset < 0 || request.Offset > dataset.Rows)
        {
            throw MaasException.InvalidArgument($"{model}: offset {request.Offset} is outside dataset '{dataset.Name}' (0..{dataset.Rows}).");
        }

        long count = request.Count < 0 ? dataset.Rows - request.Offset : request.Count;
        // Compared as a difference: offset + count overflows for a count near long.MaxValue.
        if (count > dataset.Rows - request.Offset)
        {
            throw MaasException.InvalidArgument($"{model}: {count} rows from offset {request.Offset} are outside dataset '{dataset.Name}' ({dataset.Rows} rows).");
        }

        if (request.ChunkRows < 0)
        {
            throw MaasException.InvalidArgument($"{model}: chunk size {request.ChunkRows} is negative.");
        }

        return (request.Offset, count);
    }
}
