using System.Buffers;
using System.IO.Pipelines;
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
            while (true)
            {
                result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }

                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
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
