using System.Buffers;
using System.Runtime.InteropServices;

namespace Demos.Maas;

/// <summary>
/// A batch of float64 points: <see cref="Rows"/> points of <see cref="Columns"/> values each, stored
/// row-major in one contiguous block. This is the unit every model operation takes and returns.
/// </summary>
/// <remarks>
/// Matrices made by <see cref="Rent"/> borrow their storage from <see cref="ArrayPool{T}.Shared"/>;
/// <see cref="Dispose"/> gives it back. Forgetting to dispose is safe (the array is collected), it only
/// costs the pool a miss. A matrix returned by a model call belongs to the caller.
/// <para>
/// A large matrix that arrived over <c>pipe://</c> or <c>tcp://</c> (a model's input on the server,
/// an answer on the client) is a view of the bytes as they were received, not a copy: its values
/// may start at any byte address, and it holds the connection's receive buffer until it is
/// disposed. Disposing it gives the buffer back sooner; keeping it is safe.
/// </para>
/// </remarks>
public sealed class DoubleMatrix : IDisposable
{
    private double[]? _array;
    private readonly bool _pooled;

    // Set instead of _array for a view of received bytes.
    private ReceivedDoubles? _view;

    private DoubleMatrix(double[] array, int rows, int columns, bool pooled)
    {
        _array = array;
        Rows = rows;
        Columns = columns;
        _pooled = pooled;
    }

    private DoubleMatrix(ReceivedDoubles view, int rows, int columns)
    {
        _view = view;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Number of points (rows).</summary>
    public int Rows { get; }

    /// <summary>Values per point (columns).</summary>
    public int Columns { get; }

    /// <summary>Rows × Columns.</summary>
    public int Length => Rows * Columns;

    /// <summary>The values, row-major.</summary>
    public Span<double> Span => _array is { } array ? array.AsSpan(0, Length) : View.GetSpan();

    /// <summary>The values, row-major, as memory (for async code).</summary>
    public Memory<double> Memory => _array is { } array ? array.AsMemory(0, Length) : View.Memory;

    /// <summary>The values reinterpreted as little-endian bytes, as they travel on the wire.</summary>
    public ReadOnlySpan<byte> Bytes => MemoryMarshal.AsBytes(Span);

    /// <summary>The values' little-endian bytes as memory, without a copy (for a writer that sends from it).</summary>
    internal ReadOnlyMemory<byte> ByteMemory => _array is { } array
        ? new DoubleBytes(array, Length).Memory
        : View.ByteMemory;

    /// <summary>Whether the values are read in place from a received buffer (see remarks).</summary>
    internal bool IsView => _view is not null;

    private ReceivedDoubles View => _view ?? throw new ObjectDisposedException(nameof(DoubleMatrix));

    /// <summary>Element at <paramref name="row"/>, <paramref name="column"/>.</summary>
    public double this[int row, int column]
    {
        get => Span[CheckedIndex(row, column)];
        set => Span[CheckedIndex(row, column)] = value;
    }

    /// <summary>The values of one point.</summary>
    public Span<double> Row(int row)
    {
        if ((uint)row >= (uint)Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(row));
        }

        return Span.Slice(row * Columns, Columns);
    }

    /// <summary>A matrix whose storage is borrowed from the shared pool. Its contents are unspecified.</summary>
    public static DoubleMatrix Rent(int rows, int columns)
    {
        int length = CheckShape(rows, columns);
        return new DoubleMatrix(length == 0 ? [] : ArrayPool<double>.Shared.Rent(length), rows, columns, pooled: length != 0);
    }

    /// <summary>A zero-filled matrix with pooled storage.</summary>
    public static DoubleMatrix Zeros(int rows, int columns)
    {
        var m = Rent(rows, columns);
        m.Span.Clear();
        return m;
    }

    /// <summary>Wraps an existing row-major array without copying it.</summary>
    public static DoubleMatrix Wrap(double[] values, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(values);
        int length = CheckShape(rows, columns);
        if (values.Length < length)
        {
            throw new ArgumentException($"{rows}x{columns} needs {length} values; the array has {values.Length}.", nameof(values));
        }

        return new DoubleMatrix(values, rows, columns, pooled: false);
    }

    /// <summary>A copy of <paramref name="values"/> (row-major) in pooled storage.</summary>
    public static DoubleMatrix CopyOf(ReadOnlySpan<double> values, int rows, int columns)
    {
        int length = CheckShape(rows, columns);
        if (values.Length != length)
        {
            throw new ArgumentException($"{rows}x{columns} needs {length} values; got {values.Length}.", nameof(values));
        }

        var m = Rent(rows, columns);
        values.CopyTo(m.Span);
        return m;
    }

    /// <summary>One point as a 1 × d matrix.</summary>
    public static DoubleMatrix FromPoint(params double[] point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return CopyOf(point, 1, point.Length);
    }

    /// <summary>n one-dimensional points as an n × 1 matrix.</summary>
    public static DoubleMatrix FromColumn(params double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return CopyOf(values, values.Length, 1);
    }

    /// <summary>A matrix from a rectangular array.</summary>
    public static DoubleMatrix FromArray(double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var m = Rent(rows, cols);
        var span = m.Span;
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                span[(i * cols) + j] = values[i, j];
            }
        }

        return m;
    }

    /// <summary>A matrix from equally long rows.</summary>
    public static DoubleMatrix FromRows(params double[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int cols = rows.Length == 0 ? 0 : rows[0].Length;
        var m = Rent(rows.Length, cols);
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != cols)
            {
                m.Dispose();
                throw new ArgumentException($"Row {i} has {rows[i].Length} values; row 0 has {cols}.", nameof(rows));
            }

            rows[i].CopyTo(m.Row(i));
        }

        return m;
    }

    /// <summary>A fresh array holding the values row-major.</summary>
    public double[] ToArray() => Span.ToArray();

    /// <summary>A fresh rectangular array.</summary>
    public double[,] To2DArray()
    {
        var result = new double[Rows, Columns];
        var span = Span;
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Columns; j++)
            {
                result[i, j] = span[(i * Columns) + j];
            }
        }

        return result;
    }

    /// <summary>Rows <paramref name="start"/> .. start+count-1 copied into a new pooled matrix.</summary>
    public DoubleMatrix SliceRows(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Rows {start}..{start + count} are outside 0..{Rows}.");
        }

        return CopyOf(Span.Slice(start * Columns, count * Columns), count, Columns);
    }

    /// <summary>Returns pooled storage to the pool (or lets go of the received buffer a view reads). The matrix must not be used afterwards.</summary>
    public void Dispose()
    {
        var array = _array;
        _array = null;
        if (_pooled && array is not null)
        {
            ArrayPool<double>.Shared.Return(array);
        }

        Interlocked.Exchange(ref _view, null)?.Buffer.Release();
    }

    /// <summary>
    /// A view of <paramref name="rows"/> × <paramref name="columns"/> little-endian values at
    /// <paramref name="byteOffset"/> of a received buffer; the view holds a reference to the buffer
    /// until it is disposed.
    /// </summary>
    internal static DoubleMatrix ViewOf(Protocol.ReceivedBuffer buffer, int byteOffset, int rows, int columns)
    {
        int length = CheckShape(rows, columns);
        if (byteOffset < 0 || (long)byteOffset + ((long)length * sizeof(double)) > buffer.Array.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"{rows}x{columns} values at byte {byteOffset} do not fit a buffer of {buffer.Array.Length} bytes.");
        }

        buffer.Retain();
        return new DoubleMatrix(new ReceivedDoubles(buffer, byteOffset, length), rows, columns);
    }

    /// <inheritdoc/>
    public override string ToString() => $"DoubleMatrix[{Rows}x{Columns}]";

    internal static int CheckShape(long rows, long columns)
    {
        if (rows < 0 || columns < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"Shape {rows}x{columns} has a negative dimension.");
        }

        long length = rows * columns;
        if (length > System.Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"Shape {rows}x{columns} is larger than one array can hold.");
        }

        return (int)length;
    }

    /// <summary>
    /// Doubles read in place from a received byte buffer. Pinning pins the whole buffer, as pinning
    /// an array does.
    /// </summary>
    private sealed class ReceivedDoubles(Protocol.ReceivedBuffer buffer, int byteOffset, int length) : MemoryManager<double>
    {
        public Protocol.ReceivedBuffer Buffer { get; } = buffer;

        public ReadOnlyMemory<byte> ByteMemory => Buffer.Array.AsMemory(byteOffset, length * sizeof(double));

        public override Span<double> GetSpan() =>
            MemoryMarshal.Cast<byte, double>(Buffer.Array.AsSpan(byteOffset, length * sizeof(double)));

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            if ((uint)elementIndex > (uint)length)
            {
                throw new ArgumentOutOfRangeException(nameof(elementIndex));
            }

            var handle = GCHandle.Alloc(Buffer.Array, GCHandleType.Pinned);
            byte* start = (byte*)handle.AddrOfPinnedObject() + byteOffset + (elementIndex * sizeof(double));
            return new MemoryHandle(start, handle, this);
        }

        // The MemoryHandle frees its GCHandle itself.
        public override void Unpin()
        {
        }

        // The matrix releases the buffer on its own Dispose.
        protected override void Dispose(bool disposing)
        {
        }
    }

    /// <summary>The first <c>length</c> doubles of an array as bytes.</summary>
    private sealed class DoubleBytes(double[] array, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan(0, length));

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            if ((uint)elementIndex > (uint)(length * sizeof(double)))
            {
                throw new ArgumentOutOfRangeException(nameof(elementIndex));
            }

            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle, this);
        }

        // The MemoryHandle frees its GCHandle itself.
        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    private int CheckedIndex(int row, int column)
    {
        if ((uint)row >= (uint)Rows || (uint)column >= (uint)Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(row), $"({row}, {column}) is outside {Rows}x{Columns}.");
        }

        return (row * Columns) + column;
    }
}
