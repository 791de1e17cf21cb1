using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Demos.Maas.Protocol;

namespace Demos.Maas.Transports;

/// <summary>
/// The output of a <see cref="SocketConnection"/>: frames are written into pooled buffers, large
/// arrays are sent from their own memory (<see cref="IBorrowingWriter"/>), and a flush sends it
/// all in order, at once while the socket takes it and asynchronously once it is full.
/// Compiled into each socket transport (shared source).
/// </summary>
/// <remarks>
/// Not thread-safe, as a pipe writer: the frame channel writes and flushes under its write lock.
/// Completing only stops further writes: the connection may complete the writer while a sender
/// still holds its memory, so the buffers are left to the collector rather than to the pool.
/// </remarks>
internal sealed class SocketSendWriter(Socket socket) : PipeWriter, IBorrowingWriter
{
    private const int BufferBytes = 64 * 1024;

    private readonly Socket _socket = socket;

    // What a flush sends, in order: written parts of owned buffers and borrowed memory.
    private readonly List<ReadOnlyMemory<byte>> _pending = [];

    // Owned buffers filled before _current, returned to the pool after the flush that sends them.
    private readonly List<byte[]> _filled = [];

    private byte[]? _current;
    private int _start;
    private int _written;
    private long _unflushed;
    private bool _borrowed;
    private volatile bool _completed;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public bool HoldsBorrowedMemory => _borrowed;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ThrowIfCompleted();
        int need = Math.Max(sizeHint, 1);
        if (_current is null || _current.Length - _written < need)
        {
            NewBuffer(need);
        }

        return _current.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (_current is null || (uint)bytes > (uint)(_current.Length - _written))
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advanced past the memory given out.");
        }

        _written += bytes;
        _unflushed += bytes;
    }

    public void WriteBorrowed(ReadOnlyMemory<byte> bytes)
    {
        ThrowIfCompleted();
        Seal();
        _pending.Add(bytes);
        _unflushed += bytes.Length;
        _borrowed = true;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        Seal();
        for (int i = 0; i < _pending.Count; i++)
        {
            int sent;
            try
            {
                sent = SendNow(_pending[i].Span);
            }
            catch
            {
                Sent();
                throw;
            }

            if (sent < _pending[i].Length)
            {
                // The socket is full: the rest waits for the peer to read.
                return SendRestAsync(i, sent, cancellationToken);
            }
        }

        Sent();
        return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
    }

    // Never cancelled by its users: a flush abandoned half way would leave half a frame.
    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null) => _completed = true;

    private async ValueTask<FlushResult> SendRestAsync(int index, int sent, CancellationToken cancellationToken)
    {
        try
        {
            for (int i = index; i < _pending.Count; i++)
            {
                var rest = _pending[i][sent..];
                sent = 0;
                while (!rest.IsEmpty)
                {
                    int n = await _socket.SendAsync(rest, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    rest = rest[n..];
                }
            }
        }
        catch (SocketException ex)
        {
            throw new IOException($"Unable to write data to the transport connection: {ex.Message}.", ex);
        }
        finally
        {
            Sent();
        }

        return new FlushResult(isCanceled: false, isCompleted: false);
    }

    // Sends without waiting: the bytes the socket took.
    private int SendNow(ReadOnlySpan<byte> bytes)
    {
        int sent = 0;
        while (sent < bytes.Length)
        {
            int n = _socket.Send(bytes[sent..], SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return sent;
            }

            if (error != SocketError.Success)
            {
                var cause = new SocketException((int)error);
                throw new IOException($"Unable to write data to the transport connection: {cause.Message}.", cause);
            }

            sent += n;
        }

        return sent;
    }

    // After a flush, sent or failed: nothing is pending and borrowed memory is let go.
    private void Sent()
    {
        _pending.Clear();
        _borrowed = false;
        _unflushed = 0;
        _start = 0;
        _written = 0;
        foreach (var buffer in _filled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _filled.Clear();
    }

    // The written, unsealed part of the current buffer becomes the next pending piece.
    private void Seal()
    {
        if (_current is not null && _written > _start)
        {
            _pending.Add(_current.AsMemory(_start, _written - _start));
            _start = _written;
        }
    }

    private void NewBuffer(int need)
    {
        Seal();
        if (_current is not null)
        {
            if (_written > 0)
            {
                // Pending pieces point into it until the flush.
                _filled.Add(_current);
            }
            else
            {
                ArrayPool<byte>.Shared.Return(_current);
            }
        }

        _current = ArrayPool<byte>.Shared.Rent(Math.Max(need, BufferBytes));
        _start = 0;
        _written = 0;
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
        }
    }
}
