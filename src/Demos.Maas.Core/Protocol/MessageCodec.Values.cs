using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using MessagePack;

namespace Demos.Maas.Protocol;

public static partial class MessageCodec
{
    // ---- scalars and strings ----------------------------------------------------------------

    private static ReadOnlySpan<byte> ReadKey(ref MessagePackReader r)
    {
        if (r.NextMessagePackType != MessagePackType.String)
        {
            throw Malformed("map keys are strings");
        }

        if (r.TryReadStringSpan(out var span))
        {
            return span;
        }

        var sequence = r.ReadStringSequence();
        return sequence.HasValue ? sequence.Value.ToArray() : [];
    }

    private static string ReadString(ref MessagePackReader r) =>
        r.NextMessagePackType == MessagePackType.String ? r.ReadString() ?? "" : throw Malformed($"expected a string, found {r.NextMessagePackType}");

    // Model names recur in every request: a few recently decoded ones per thread are reused instead
    // of allocating the same string again for each call.
    [ThreadStatic]
    private static (byte[] Utf8, string Text)[]? t_recentNames;

    private static string ReadName(ref MessagePackReader r)
    {
        if (r.NextMessagePackType != MessagePackType.String)
        {
            throw Malformed($"expected a string, found {r.NextMessagePackType}");
        }

        var sequence = r.ReadStringSequence();
        if (sequence is not { IsSingleSegment: true, Length: <= 128 } utf8)
        {
            return sequence.HasValue ? Encoding.UTF8.GetString(sequence.Value) : "";
        }

        var span = utf8.FirstSpan;
        var recent = t_recentNames ??= new (byte[], string)[4];
        foreach (var (bytes, text) in recent)
        {
            if (bytes is not null && span.SequenceEqual(bytes))
            {
                return text;
            }
        }

        string name = Encoding.UTF8.GetString(span);
        recent[(span.Length + (span.IsEmpty ? 0 : span[^1])) & 3] = (span.ToArray(), name);
        return name;
    }

    private static string? ReadOptionalString(ref MessagePackReader r) =>
        r.TryReadNil() ? null : ReadString(ref r);

    private static void WriteStrings(ref MessagePackWriter w, IReadOnlyList<string> values)
    {
        w.WriteArrayHeader(values.Count);
        foreach (var s in values)
        {
            w.Write(s);
        }
    }

    private static List<string> ReadStrings(ref MessagePackReader r)
    {
        int n = r.ReadArrayHeader();
        var result = new List<string>(Math.Min(n, 256));
        for (int i = 0; i < n; i++)
        {
            result.Add(ReadString(ref r));
        }

        return result;
    }

    // ---- arrays: ["f64", [dims...], bin(little-endian)] --------------------------------------

    /// <summary>Matrices of at least this many bytes are sent from their own memory by a borrowing writer.</summary>
    internal const int BorrowMinimumBytes = 64 * 1024;

    private static void WriteMatrix(ref MessagePackWriter w, DoubleMatrix m, IBorrowingWriter? borrowing)
    {
        w.WriteArrayHeader(3);
        w.WriteString("f64"u8);
        w.WriteArrayHeader(2);
        w.Write((uint)m.Rows);
        w.Write((uint)m.Columns);
        if (borrowing is not null && BitConverter.IsLittleEndian && (long)m.Length * sizeof(double) >= BorrowMinimumBytes)
        {
            w.WriteBinHeader(m.Length * sizeof(double));

            // What the writer holds goes out first, then the values from the matrix's own memory.
            w.Flush();
            borrowing.WriteBorrowed(m.ByteMemory);
            return;
        }

        WriteDoubleBytes(ref w, m.Span);
    }

    private static void WriteVector(ref MessagePackWriter w, ReadOnlySpan<double> values)
    {
        w.WriteArrayHeader(3);
        w.WriteString("f64"u8);
        w.WriteArrayHeader(1);
        w.Write((uint)values.Length);
        WriteDoubleBytes(ref w, values);
    }

    private static void WriteVector(ref MessagePackWriter w, IReadOnlyList<double> values) =>
        WriteVector(ref w, values is double[] array ? array : values.ToArray());

    private static void WriteDoubleBytes(ref MessagePackWriter w, ReadOnlySpan<double> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            w.Write(MemoryMarshal.AsBytes(values));
            return;
        }

        w.WriteBinHeader(values.Length * sizeof(double));
        byte[] eight = new byte[sizeof(double)];
        foreach (double v in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(eight, v);
            w.WriteRaw(eight);
        }
    }

    /// <summary>
    /// Matrices of at least this many bytes are decoded as views of the received buffer when the
    /// connection's reader lends it (pipe:// and tcp://): below it a copy costs less than the
    /// fresh receive buffer a lent one makes the reader take.
    /// </summary>
    internal const int ViewMinimumBytes = 64 * 1024;

    private static DoubleMatrix ReadMatrix(ref MessagePackReader r, string field, ReceivedBuffer? received)
    {
        var (rank, rows, columns, data) = ReadArrayValue(ref r, field);
        if (rank != 2)
        {
            throw Invalid($"'{field}' must be a matrix (2 dimensions); it has {rank}.");
        }

        if (received is not null
            && BitConverter.IsLittleEndian
            && data.Length >= ViewMinimumBytes
            && data.IsSingleSegment
            && MemoryMarshal.TryGetArray(data.First, out var bytes)
            && ReferenceEquals(bytes.Array, received.Array))
        {
            return DoubleMatrix.ViewOf(received, bytes.Offset, (int)rows, (int)columns);
        }

        var m = DoubleMatrix.Rent((int)rows, (int)columns);
        CopyDoubles(data, m.Span);
        return m;
    }

    private static double[] ReadVector(ref MessagePackReader r, string field)
    {
        var (rank, length, _, data) = ReadArrayValue(ref r, field);
        if (rank != 1)
        {
            throw Invalid($"'{field}' must be a vector (1 dimension); it has {rank}.");
        }

        var values = new double[length];
        CopyDoubles(data, values);
        return values;
    }

    /// <summary>An array value's rank, dimensions (the second is 1 for a vector) and data; no allocation.</summary>
    private static (int Rank, long First, long Second, ReadOnlySequence<byte> Data) ReadArrayValue(ref MessagePackReader r, string field)
    {
        int parts = r.ReadArrayHeader();
        if (parts != 3)
        {
            throw Malformed($"'{field}': an array value is [dtype, shape, data]; got {parts} elements");
        }

        var dtype = ReadKey(ref r);
        if (!dtype.SequenceEqual("f64"u8))
        {
            throw Invalid($"'{field}': dtype '{Encoding.UTF8.GetString(dtype)}' is not supported; protocol 1.0 carries f64 only.");
        }

        int rank = r.ReadArrayHeader();
        if (rank is < 1 or > 2)
        {
            throw Invalid($"'{field}': rank {rank} is not supported (1 or 2).");
        }

        Span<long> dims = stackalloc long[2];
        dims[1] = 1;
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = r.ReadUInt32();
            if (dims[i] > int.MaxValue)
            {
                throw Invalid($"'{field}': dimension {dims[i]} is too large.");
            }

            elements *= dims[i];
        }

        var data = r.ReadBytes() ?? throw Malformed($"'{field}': data is nil");
        if (elements > Array.MaxLength || data.Length != elements * sizeof(double))
        {
            throw Invalid($"'{field}': shape [{string.Join(", ", dims[..rank].ToArray())}] needs {elements * sizeof(double)} bytes; data has {data.Length}.");
        }

        return (rank, dims[0], dims[1], data);
    }

    private static void CopyDoubles(ReadOnlySequence<byte> data, Span<double> destination)
    {
        data.CopyTo(MemoryMarshal.AsBytes(destination));
        if (!BitConverter.IsLittleEndian)
        {
            var raw = MemoryMarshal.Cast<double, long>(destination);
            BinaryPrimitives.ReverseEndianness(raw, raw);
        }
    }

    private static void WriteValues(ref MessagePackWriter w, IEnumerable<KeyValuePair<string, double[]>> values)
    {
        var list = values as IReadOnlyCollection<KeyValuePair<string, double[]>> ?? [.. values];
        w.WriteMapHeader(list.Count);
        foreach (var (name, v) in list)
        {
            w.Write(name);
            WriteVector(ref w, v);
        }
    }

    private static Dictionary<string, double[]> ReadValues(ref MessagePackReader r)
    {
        int n = r.ReadMapHeader();
        var values = new Dictionary<string, double[]>(Math.Min(n, 256), StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            string name = ReadString(ref r);
            values[name] = ReadVector(ref r, name);
        }

        return values;
    }

    // ---- model info, parameters, datasets -------------------------------------------------------

    private static void WriteInfo(ref MessagePackWriter w, ModelInfo info)
    {
        w.WriteMapHeader(9 + (info.Description is null ? 0 : 1) + (info.Doi is null ? 0 : 1));
        w.WriteString("uuid"u8);
        w.Write(info.Uuid.ToString("D"));
        w.WriteString("name"u8);
        w.Write(info.Name);
        w.WriteString("version"u8);
        w.Write(info.Version);
        if (info.Description is not null) { w.WriteString("description"u8); w.Write(info.Description); }
        w.WriteString("authors"u8);
        WriteStrings(ref w, info.Authors);
        if (info.Doi is not null) { w.WriteString("doi"u8); w.Write(info.Doi); }
        w.WriteString("caps"u8);
        w.Write((uint)info.Capabilities);
        w.WriteString("dtype"u8);
        w.Write(info.DType);
        w.WriteString("input_dim"u8);
        w.Write((uint)info.InputDimension);
        w.WriteString("output_dim"u8);
        w.Write((uint)info.OutputDimension);
        w.WriteString("params"u8);
        w.WriteArrayHeader(info.Parameters.Count);
        foreach (var p in info.Parameters)
        {
            WriteParameter(ref w, p);
        }
    }

    private static ModelInfo ReadInfo(ref MessagePackReader r)
    {
        Guid uuid = Guid.Empty;
        string name = "", version = "", dtype = "f64";
        string? description = null, doi = null;
        IReadOnlyList<string> authors = [];
        uint caps = 0, inputDim = 0, outputDim = 0;
        var parameters = new List<ParameterInfo>();
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("uuid"u8))
            {
                string text = ReadString(ref r);
                if (!Guid.TryParse(text, out uuid))
                {
                    throw Malformed($"uuid '{text}' is not a uuid");
                }
            }
            else if (key.SequenceEqual("name"u8)) { name = ReadString(ref r); }
            else if (key.SequenceEqual("version"u8)) { version = ReadString(ref r); }
            else if (key.SequenceEqual("description"u8)) { description = ReadOptionalString(ref r); }
            else if (key.SequenceEqual("authors"u8)) { authors = ReadStrings(ref r); }
            else if (key.SequenceEqual("doi"u8)) { doi = ReadOptionalString(ref r); }
            else if (key.SequenceEqual("caps"u8)) { caps = r.ReadUInt32(); }
            else if (key.SequenceEqual("dtype"u8)) { dtype = ReadString(ref r); }
            else if (key.SequenceEqual("input_dim"u8)) { inputDim = r.ReadUInt32(); }
            else if (key.SequenceEqual("output_dim"u8)) { outputDim = r.ReadUInt32(); }
            else if (key.SequenceEqual("params"u8))
            {
                int count = r.ReadArrayHeader();
                for (int k = 0; k < count; k++)
                {
                    parameters.Add(ReadParameter(ref r));
                }
            }
            else { Skip(ref r, 1); }
        }

        return new ModelInfo
        {
            Uuid = uuid,
            Name = name,
            Version = version,
            Description = description,
            Authors = authors,
            Doi = doi,
            Capabilities = (ModelCapabilities)caps,
            DType = dtype,
            InputDimension = checked((int)inputDim),
            OutputDimension = checked((int)outputDim),
            Parameters = parameters,
        };
    }

    private static void WriteParameter(ref MessagePackWriter w, ParameterInfo p)
    {
        w.WriteMapHeader(3 + (p.Lower is null ? 0 : 1) + (p.Upper is null ? 0 : 1) + (p.Description is null ? 0 : 1));
        w.WriteString("name"u8);
        w.Write(p.Name);
        w.WriteString("shape"u8);
        w.WriteArrayHeader(p.Shape.Count);
        foreach (int s in p.Shape)
        {
            w.Write((uint)s);
        }

        w.WriteString("default"u8);
        WriteVector(ref w, p.Default);
        if (p.Lower is not null) { w.WriteString("lower"u8); WriteVector(ref w, p.Lower); }
        if (p.Upper is not null) { w.WriteString("upper"u8); WriteVector(ref w, p.Upper); }
        if (p.Description is not null) { w.WriteString("description"u8); w.Write(p.Description); }
    }

    private static ParameterInfo ReadParameter(ref MessagePackReader r)
    {
        string name = "";
        string? description = null;
        var shape = new List<int>();
        double[] def = [];
        double[]? lower = null, upper = null;
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("name"u8)) { name = ReadString(ref r); }
            else if (key.SequenceEqual("shape"u8))
            {
                int rank = r.ReadArrayHeader();
                for (int k = 0; k < rank; k++)
                {
                    shape.Add(checked((int)r.ReadUInt32()));
                }
            }
            else if (key.SequenceEqual("default"u8)) { def = ReadVector(ref r, "default"); }
            else if (key.SequenceEqual("lower"u8)) { lower = ReadVector(ref r, "lower"); }
            else if (key.SequenceEqual("upper"u8)) { upper = ReadVector(ref r, "upper"); }
            else if (key.SequenceEqual("description"u8)) { description = ReadOptionalString(ref r); }
            else { Skip(ref r, 1); }
        }

        return new ParameterInfo { Name = name, Shape = shape, Default = def, Lower = lower, Upper = upper, Description = description };
    }

    private static void WriteDataset(ref MessagePackWriter w, DatasetInfo d)
    {
        w.WriteMapHeader(d.Description is null ? 3 : 4);
        w.WriteString("name"u8);
        w.Write(d.Name);
        w.WriteString("rows"u8);
        w.Write((ulong)d.Rows);
        w.WriteString("cols"u8);
        w.Write((uint)d.Columns);
        if (d.Description is not null) { w.WriteString("description"u8); w.Write(d.Description); }
    }

    private static DatasetInfo ReadDataset(ref MessagePackReader r)
    {
        string name = "";
        string? description = null;
        long rows = 0;
        int cols = 0;
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("name"u8)) { name = ReadString(ref r); }
            else if (key.SequenceEqual("rows"u8)) { rows = checked((long)r.ReadUInt64()); }
            else if (key.SequenceEqual("cols"u8)) { cols = checked((int)r.ReadUInt32()); }
            else if (key.SequenceEqual("description"u8)) { description = ReadOptionalString(ref r); }
            else { Skip(ref r, 1); }
        }

        return new DatasetInfo { Name = name, Rows = rows, Columns = cols, Description = description };
    }
}
