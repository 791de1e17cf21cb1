using System.Buffers;
using System.IO.Pipelines;
using Demos.Maas.Protocol;
using Microsoft.AspNetCore.Http;

namespace Demos.Maas.Transports.Http;

/// <summary>Reads a whole request body from the request's pipe and hands it to a parser without copying.</summary>
internal static class HttpBody
{
    public const string MsgPack = "application/msgpack";

    public static bool IsMsgPack(string? contentType) =>
        contentType is not null && (contentType.StartsWith(MsgPack, StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("application/x-msgpack", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("application/vnd.msgpack", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads the body to its end, then runs <paramref name="parse"/> on it.</summary>
    /// <exception cref="MaasException">ResourceExhausted (flagged as a size limit) when the body is over Kestrel's limit.</exception>
    public static async ValueTask<T> ReadAsync<T>(HttpRequest request, Func<ReadOnlySequence<byte>, T> parse, CancellationToken cancellationToken)
    {
        PipeReader reader = request.BodyReader;
        ReadResult result;
        try
        {
            // A small body usually came with its headers: take it without the asynchronous read.
            bool read = reader.TryRead(out result);
            if (!read || !(result.IsCompleted || result.IsCanceled))
            {
                if (read)
                {
                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                }

                result = await ReadToEndAsync(reader, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new SizeLimitException(request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize);
        }
        catch (BadHttpRequestException ex)
        {
            throw new MaasException(MaasErrorCode.ProtocolError, $"Bad request body: {ex.Message}");
        }

        try
        {
            return parse(result.Buffer);
        }
        finally
        {
            reader.AdvanceTo(result.Buffer.End);
        }
    }

    private static async ValueTask<ReadResult> ReadToEndAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCompleted || result.IsCanceled)
            {
                return result;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}

/// <summary>A request body in a media type the routes do not read (415): browsers send text/plain and form bodies cross-site without asking (a CORS "simple request"), so only JSON and MessagePack are taken.</summary>
internal sealed class UnsupportedMediaTypeException(string? contentType)
    : MaasException(MaasErrorCode.InvalidArgument, $"Content-Type '{contentType ?? "(none)"}' is not accepted; send application/json or application/msgpack.")
{
}

/// <summary>The request body was over the server's size limit (413, not 429).</summary>
internal sealed class SizeLimitException(long? limit)
    : MaasException(MaasErrorCode.ResourceExhausted, $"The request body is over this server's limit of {limit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} bytes (MaasServerOptions.MaxFrameBytes). Split the batch.")
{
}

/// <summary>
/// A response body written in one piece: bytes collect in a pooled buffer, and when the answer is
/// complete it goes out with a Content-Length in a single send with its headers. Without it every
/// answer was chunked: the headers and the body went in one send, the closing chunk in a second, and
/// the client woke up for each. An answer that grows past <see cref="MaxBufferedBytes"/> (a large
/// matrix) is streamed chunked from there on, so it is not copied once more.
/// </summary>
internal sealed class ResponseBody(HttpResponse response) : IBufferWriter<byte>, IDisposable
{
    /// <summary>The most that is collected before the body streams.</summary>
    public const int MaxBufferedBytes = 64 * 1024;

    private readonly PooledBufferWriter _collected = new(1024);
    private bool _streaming;
    private bool _disposed;

    /// <summary>The body streams chunked: it outgrew the buffer.</summary>
    public bool IsStreaming => _streaming;

    public void Advance(int count)
    {
        if (_streaming)
        {
            response.BodyWriter.Advance(count);
        }
        else
        {
            _collected.Advance(count);
        }
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Collects(sizeHint) ? _collected.GetMemory(sizeHint) : response.BodyWriter.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => Collects(sizeHint) ? _collected.GetSpan(sizeHint) : response.BodyWriter.GetSpan(sizeHint);

    /// <summary>Sends what was written: with its length if it was collected whole, else the rest of the stream.</summary>
    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
    {
        if (!_streaming)
        {
            response.ContentLength = _collected.WrittenCount;
            response.BodyWriter.Write(_collected.WrittenSpan);
            _collected.Reset();
        }

        return response.BodyWriter.FlushAsync(cancellationToken);
    }

    public void Dispose()
    {
        _disposed = true;
        _collected.Dispose();
    }

    // True while the next bytes fit in what may be collected; past it, what was collected goes
    // first and the rest straight into the response.
    private bool Collects(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_streaming)
        {
            return false;
        }

        if ((long)_collected.WrittenCount + Math.Max(sizeHint, 1) <= MaxBufferedBytes)
        {
            return true;
        }

        _streaming = true;
        response.BodyWriter.Write(_collected.WrittenSpan);
        _collected.Reset();
        return false;
    }
}
