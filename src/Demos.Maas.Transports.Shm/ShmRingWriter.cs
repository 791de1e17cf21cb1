using System.Buffers;
using System.IO.Pipelines;

namespace Demos.Maas.Transports.Shm;

/// <summary>
/// The output of a shm:// connection: the memory it hands out is free space of the outgoing ring, so
/// a frame is encoded where the peer will read it, and a flush only publishes the new head. When the
/// ring has no room for a request (full, or the piece before its end too short), the bytes go to
/// pooled spill segments until the flush, which copies them in as the peer frees space.
/// </summary>
/// <remarks>
/// Written memory stays where it is until the flush (a frame's length is patched in after its
/// body). One writer at a time, as for any <see cref="PipeWriter"/>, and none once it is completed:
/// completing gives back the writer's reference on the mapping.
/// </remarks>
internal sealed class ShmRingWriter : PipeWriter
{
    private const int SpillSegmentBytes = 64 * 1024;

    private readonly ShmConnection _connection;
    private readonly ShmRing _ring;
    private readonly Memory<byte> _data;
    private readonly List<(byte[] Array, int Written)> _spill = [];
    private readonly Lock _gate = new();

    // Published head; bytes written in place after it; whether this flush's bytes go to the spill.
    private long _published;
    private int _inPlace;
    private bool _spilling;

    // The memory handed out last: in the ring or the last spill segment, and how much of it is left.
    private bool _lastInRing;
    private int _lastFree;

    private bool _completed;
    private bool _released;

    // The consumer's position as last read. It only grows, so space computed from it is never more
    // than there is; it is read again only when that space is too short. Reading it every time cost
    // a cache miss per frame: the consumer wrote it when it took the last frame.
    private long _knownTail;

    public ShmRingWriter(ShmConnection connection, ShmRing ring, Memory<byte> data)
    {
        _connection = connection;
        _ring = ring;
        _data = data;
        _published = ring.WritePosition;
        _knownTail = ring.ReadPosition;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes
    {
        get
        {
            long bytes = _inPlace;
            foreach (var (_, written) in _spill)
            {
                bytes += written;
            }

            return bytes;
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
        }

        int needed = Math.Max(sizeHint, 1);
        if (!_spilling)
        {
            int size = _ring.Size;
            long position = _published + _inPlace;
            int at = (int)(position & (size - 1));
            int contiguous = (int)Math.Min(size - (position - _knownTail), size - at);
            if (contiguous < needed)
            {
                _knownTail = _ring.ReadPosition;
                contiguous = (int)Math.Min(size - (position - _knownTail), size - at);
            }

            if (contiguous >= needed)
            {
                _lastInRing = true;
                _lastFree = contiguous;
                return _data.Slice(at, contiguous);
            }

            // Bytes cannot skip the rest of the ring: everything up to the flush goes to the spill.
            _spilling = true;
        }

        if (_spill.Count == 0 || _spill[^1].Array.Length - _spill[^1].Written < needed)
        {
            _spill.Add((ArrayPool<byte>.Shared.Rent(Math.Max(needed, SpillSegmentBytes)), 0));
        }

        var (array, written) = _spill[^1];
        _lastInRing = false;
        _lastFree = array.Length - written;
        return array.AsMemory(written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if ((uint)bytes > (uint)_lastFree)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"Advanced {bytes} bytes; the memory handed out had {_lastFree} left.");
        }

        _lastFree -= bytes;
        if (_lastInRing)
        {
            _inPlace += bytes;
        }
        else
        {
            var (array, written) = _spill[^1];
            _spill[^1] = (array, written + bytes);
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_completed)
        {
            throw new InvalidOperationException("Flushing is not allowed after the writer was completed.");
        }

        if (_connection.Closing)
        {
            _inPlace = 0;
            ReturnSpill();
            throw new IOException("The shm:// peer has closed the connection.");
        }

        PublishInPlace();
        return _spill.Count == 0 ? new ValueTask<FlushResult>(default(FlushResult)) : FlushSpillAsync();
    }

    public override void CancelPendingFlush()
    {
        // A flush waits only for ring space, which the peer frees or the close ends.
    }

    /// <summary>Publishes what was written; the spill only as far as the ring has room now.</summary>
    public override void Complete(Exception? exception = null)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
        }

        try
        {
            Publish(waitForSpace: false).GetAwaiter().GetResult();
        }
        catch (IOException)
        {
            // The peer is gone: nothing more to deliver.
        }
        finally
        {
            ReleaseOnce();
        }
    }

    /// <summary>Publishes what was written, waiting for ring space while the connection is open.</summary>
    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
        }

        try
        {
            await Publish(waitForSpace: true).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The peer is gone: nothing more to deliver.
        }
        finally
        {
            ReleaseOnce();
        }
    }

    private async Task Publish(bool waitForSpace)
    {
        if (_connection.Closing)
        {
            ReturnSpill();
            return;
        }

        PublishInPlace();
        if (_spill.Count > 0)
        {
            await CopySpillAsync(waitForSpace).ConfigureAwait(false);
        }
    }

    private void PublishInPlace()
    {
        if (_inPlace > 0)
        {
            _published += _inPlace;
            _inPlace = 0;
            _ring.Publish(_published);
            _connection.WakePeer();
        }
    }

    private async ValueTask<FlushResult> FlushSpillAsync()
    {
        await CopySpillAsync(waitForSpace: true).ConfigureAwait(false);
        return default;
    }

    // Copies the spill into the ring, a ring-full at a time, and rings the peer after each piece.
    private async Task CopySpillAsync(bool waitForSpace)
    {
        _connection.SetSending(true);
        try
        {
            for (int i = 0; i < _spill.Count; i++)
            {
                var (array, written) = _spill[i];
                int offset = 0;
                while (offset < written)
                {
                    if (_connection.Closing)
                    {
                        throw new IOException("The shm:// peer has closed the connection.");
                    }

                    int n = _ring.Write(array.AsSpan(offset, written - offset));
                    offset += n;
                    _published += n;
                    if (n > 0)
                    {
                        _connection.WakePeer();
                    }

                    if (offset < written)
                    {
                        if (!waitForSpace)
                        {
                            return;
                        }

                        await _connection.WaitForSpaceAsync().ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            _connection.SetSending(false);
            ReturnSpill();
        }
    }

    private void ReturnSpill()
    {
        foreach (var (array, _) in _spill)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _spill.Clear();
        _spilling = false;
    }


    private void ReleaseOnce()
    {
        lock (_gate)
        {
            if (_released)
            {
                return;
            }

            _released = true;
        }

        _connection.Release();
    }
}
