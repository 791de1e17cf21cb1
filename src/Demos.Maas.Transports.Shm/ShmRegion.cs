using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// The shared file of one connection: a header, a request ring (client → server) and a response ring
/// (server → client). Every word two processes touch sits on its own 64-byte cache line.
/// </summary>
/// <remarks>
/// Layout (offsets in bytes): 0 magic (8) | 8 version (4) | 12 ring size (4) | 64 closed flag |
/// 128/192/256 request ring head, tail, want-space | 320/384/448 response ring head, tail, want-space |
/// 512 server doorbell (sequence, sleeping) | 576 client doorbell | 4096 request ring data |
/// 4096 + ring size: response ring data.
/// </remarks>
internal sealed unsafe class ShmRegion : IDisposable
{
    public const ulong Magic = 0x314D48535341414D; // "MAASSHM1" little-endian
    public const int Version = 1;
    public const int HeaderSize = 4096;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private int _disposed;

    private ShmRegion(MemoryMappedFile file, MemoryMappedViewAccessor view, int ringSize)
    {
        _file = file;
        _view = view;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + view.PointerOffset;
        RingSize = ringSize;
        Requests = new ShmRing(_base + 128, _base + 192, _base + 256, _base + HeaderSize, ringSize);
        Responses = new ShmRing(_base + 320, _base + 384, _base + 448, _base + HeaderSize + ringSize, ringSize);
        RequestMemory = new RingMemory(_base + HeaderSize, ringSize).Memory;
        ResponseMemory = new RingMemory(_base + HeaderSize + ringSize, ringSize).Memory;
        ServerBell = new Doorbell((int*)(_base + 512), (int*)(_base + 516));
        ClientBell = new Doorbell((int*)(_base + 576), (int*)(_base + 580));
    }

    public int RingSize { get; }

    public ShmRing Requests { get; }

    public ShmRing Responses { get; }

    /// <summary>The request ring's bytes (valid while the region is mapped).</summary>
    public Memory<byte> RequestMemory { get; }

    /// <summary>The response ring's bytes.</summary>
    public Memory<byte> ResponseMemory { get; }

    public Doorbell ServerBell { get; }

    public Doorbell ClientBell { get; }

    /// <summary>Set by either side when it closes (or sees its peer gone); never cleared.</summary>
    public bool Closed => Volatile.Read(ref Unsafe.AsRef<int>(_base + 64)) != 0;

    public void MarkClosed() => Interlocked.Exchange(ref Unsafe.AsRef<int>(_base + 64), 1);

    public static long FileSize(int ringSize) => HeaderSize + 2L * ringSize;

    /// <summary>Creates and maps a fresh file (mode 0600) for a connection.</summary>
    public static ShmRegion Create(string path, int ringSize)
    {
        // Allocated up front: a full /dev/shm fails here with an IOException, not later with SIGBUS on a write into the mapping.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite, PreallocationSize = FileSize(ringSize) };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, options);
        MemoryMappedFile? file = null;
        try
        {
            stream.SetLength(FileSize(ringSize));
            file = MemoryMappedFile.CreateFromFile(stream, null, FileSize(ringSize), MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            var region = new ShmRegion(file, file.CreateViewAccessor(0, FileSize(ringSize)), ringSize);
            *(int*)(region._base + 12) = ringSize;
            *(int*)(region._base + 8) = Version;
            Volatile.Write(ref Unsafe.AsRef<ulong>(region._base), Magic);
            return region;
        }
        catch
        {
            if (file is null)
            {
                stream.Dispose();
            }
            else
            {
                file.Dispose();
            }

            throw;
        }
    }

    /// <summary>Maps the file a server made; checks its header.</summary>
    public static ShmRegion Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        MemoryMappedFile? file = null;
        try
        {
            long length = stream.Length;
            if (length < HeaderSize)
            {
                throw new InvalidDataException($"{path} is {length} bytes, too short for a ring file.");
            }

            file = MemoryMappedFile.CreateFromFile(stream, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            var view = file.CreateViewAccessor(0, length);
            ulong magic = view.ReadUInt64(0);
            int version = view.ReadInt32(8);
            int ringSize = view.ReadInt32(12);
            if (magic != Magic || version != Version || ringSize <= 0 || FileSize(ringSize) != length || !IsPowerOfTwo(ringSize))
            {
                view.Dispose();
                throw new InvalidDataException($"{path} is not a version {Version} shm:// ring file (magic {magic:x}, version {version}, ring {ringSize}, {length} bytes).");
            }

            return new ShmRegion(file, view, ringSize);
        }
        catch
        {
            if (file is null)
            {
                stream.Dispose();
            }
            else
            {
                file.Dispose();
            }

            throw;
        }
    }

    public static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}

/// <summary>
/// A futex word a process sleeps on, with a flag saying it sleeps: the other side bumps the sequence
/// and makes the system call only when the flag is set, so a busy connection makes no wake calls.
/// </summary>
internal readonly unsafe struct Doorbell(int* sequence, int* sleeping)
{
    /// <summary>Bumps the sequence (a full fence) and wakes the owner if it sleeps.</summary>
    public void Ring()
    {
        Interlocked.Increment(ref Unsafe.AsRef<int>(sequence));
        if (Volatile.Read(ref Unsafe.AsRef<int>(sleeping)) != 0)
        {
            Futex.WakeAll(sequence);
        }
    }

    /// <summary>Wakes the owner whether or not it said it sleeps (closing).</summary>
    public void RingHard()
    {
        Interlocked.Increment(ref Unsafe.AsRef<int>(sequence));
        Futex.WakeAll(sequence);
    }

    /// <summary>The sequence before checking for work; pass it to <see cref="Sleep"/>.</summary>
    public int Prepare()
    {
        int seen = Volatile.Read(ref Unsafe.AsRef<int>(sequence));
        Interlocked.Exchange(ref Unsafe.AsRef<int>(sleeping), 1);
        return seen;
    }

    /// <summary>Sleeps unless the sequence moved since <see cref="Prepare"/>; then clears the flag.</summary>
    public void Sleep(int seen, int timeoutMilliseconds)
    {
        Futex.Wait(sequence, seen, timeoutMilliseconds);
        Volatile.Write(ref Unsafe.AsRef<int>(sleeping), 0);
    }

    /// <summary>Clears the sleeping flag without sleeping (work turned up after Prepare).</summary>
    public void Cancel() => Volatile.Write(ref Unsafe.AsRef<int>(sleeping), 0);

    /// <summary>The sequence now, for <see cref="Wait"/>.</summary>
    public int Sequence => Volatile.Read(ref Unsafe.AsRef<int>(sequence));

    /// <summary>
    /// Sleeps unless the sequence moved since <paramref name="seen"/>, without raising the sleeping
    /// flag: woken only by a ring while another thread of this side keeps the flag up, or a hard ring.
    /// </summary>
    public void Wait(int seen, int timeoutMilliseconds) => Futex.Wait(sequence, seen, timeoutMilliseconds);
}

/// <summary>
/// A single-producer single-consumer byte ring. Positions only grow (64-bit, never wrap in practice);
/// the index into the data is position mod size. The producer owns head, the consumer tail.
/// </summary>
internal readonly unsafe struct ShmRing(byte* head, byte* tail, byte* wantSpace, byte* data, int size)
{
    private ref long Head => ref Unsafe.AsRef<long>(head);

    private ref long Tail => ref Unsafe.AsRef<long>(tail);

    private ref int WantSpace => ref Unsafe.AsRef<int>(wantSpace);

    public int Size => size;

    /// <summary>The ring's bytes, for the reader and writer that work in place.</summary>
    public byte* Data => data;

    /// <summary>The producer's position (its own word): everything before it is published.</summary>
    public long WritePosition => Volatile.Read(ref Head);

    /// <summary>Producer: makes everything before <paramref name="position"/> visible to the consumer (bytes written in place first).</summary>
    public void Publish(long position) => Volatile.Write(ref Head, position);

    /// <summary>Bytes the consumer may read now.</summary>
    public long Available(long consumed) => Volatile.Read(ref Head) - consumed;

    /// <summary>The consumer's position (its own word).</summary>
    public long ReadPosition => Volatile.Read(ref Tail);

    /// <summary>Bytes the producer may write now.</summary>
    public long Free => size - (Volatile.Read(ref Head) - Volatile.Read(ref Tail));

    /// <summary>Producer: copies as much of <paramref name="source"/> as fits; returns the count.</summary>
    public int Write(ReadOnlySpan<byte> source)
    {
        long h = Volatile.Read(ref Head);
        long free = size - (h - Volatile.Read(ref Tail));
        int n = (int)Math.Min(free, source.Length);
        if (n <= 0)
        {
            return 0;
        }

        int at = (int)(h & (size - 1));
        int first = Math.Min(n, size - at);
        source[..first].CopyTo(new Span<byte>(data + at, first));
        if (first < n)
        {
            source[first..n].CopyTo(new Span<byte>(data, n - first));
        }

        Volatile.Write(ref Head, h + n);
        return n;
    }

    /// <summary>Consumer: copies up to <paramref name="destination"/>.Length available bytes out, without releasing them.</summary>
    public int Peek(long position, Span<byte> destination)
    {
        long available = Volatile.Read(ref Head) - position;
        int n = (int)Math.Min(available, destination.Length);
        if (n <= 0)
        {
            return 0;
        }

        int at = (int)(position & (size - 1));
        int first = Math.Min(n, size - at);
        new ReadOnlySpan<byte>(data + at, first).CopyTo(destination);
        if (first < n)
        {
            new ReadOnlySpan<byte>(data, n - first).CopyTo(destination[first..]);
        }

        return n;
    }

    /// <summary>Consumer: releases everything before <paramref name="position"/>; true if the producer waits for space (it must be woken).</summary>
    public bool Release(long position)
    {
        Interlocked.Exchange(ref Tail, position); // a full fence: the producer's want-space flag is read after the new tail is visible
        return Volatile.Read(ref WantSpace) != 0 && Interlocked.Exchange(ref WantSpace, 0) != 0;
    }

    /// <summary>Producer: says it waits for space (a full fence), then whether space turned up meanwhile.</summary>
    public bool AskForSpace()
    {
        Interlocked.Exchange(ref WantSpace, 1);
        return Free > 0;
    }
}

/// <summary>A ring's bytes as <see cref="Memory{T}"/>: the reader hands them out as its buffer, the writer as space to write into.</summary>
internal sealed unsafe class RingMemory(byte* data, int size) : System.Buffers.MemoryManager<byte>
{
    public override Span<byte> GetSpan() => new(data, size);

    public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(data + elementIndex);

    public override void Unpin()
    {
        // Mapped memory does not move.
    }

    protected override void Dispose(bool disposing)
    {
        // The mapping belongs to the region.
    }
}
