using System.Buffers;

namespace Demos.Maas.Protocol;

/// <summary>
/// A connection's receive buffer that decoded matrices read in place (<see cref="DoubleMatrix"/>
/// views) instead of copying their values out. The reader that received into it holds one
/// reference until it moves on to another buffer, every view holds one until it is disposed, and
/// the last to let go returns the array to the pool.
/// </summary>
internal sealed class ReceivedBuffer(byte[] array)
{
    private int _references = 1;

    public byte[] Array { get; } = array;

    /// <summary>How many hold the buffer now (for tests and diagnostics).</summary>
    public int References => Volatile.Read(ref _references);

    /// <summary>Another reference; only while the caller holds one already.</summary>
    public void Retain() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            ArrayPool<byte>.Shared.Return(Array);
        }
    }
}

/// <summary>
/// A <see cref="System.IO.Pipelines.PipeReader"/> whose received bytes decoded matrices may read in
/// place: the frame decoder asks for the buffer of a large frame before it decodes it.
/// </summary>
internal interface IReceiveBufferLender
{
    /// <summary>
    /// While a read's result is out: the buffer that holds all of <paramref name="frame"/>, with one
    /// reference for the caller, after which the reader never writes over those bytes again; null
    /// when the frame is not in one buffer of the reader's.
    /// </summary>
    ReceivedBuffer? TryLend(ReadOnlySequence<byte> frame);
}
