namespace Demos.Maas.Protocol;

/// <summary>
/// A <see cref="System.IO.Pipelines.PipeWriter"/> that can send bytes from the caller's memory
/// instead of copying them into its own: the encoder hands it a large matrix's values.
/// </summary>
internal interface IBorrowingWriter
{
    /// <summary>
    /// Sends <paramref name="bytes"/> after everything written so far, without copying them. They
    /// must stay unchanged until the next flush completes.
    /// </summary>
    void WriteBorrowed(ReadOnlyMemory<byte> bytes);

    /// <summary>Whether unflushed output includes borrowed memory (its owner waits for the flush).</summary>
    bool HoldsBorrowedMemory { get; }
}
