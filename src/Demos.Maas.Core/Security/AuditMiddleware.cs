using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Security;

/// <summary>
/// One audit record per call, written when the call has its outcome (a stream's at its end):
/// time, identity, model, operation, outcome code, bytes in and out, duration and remote address.
/// Never credentials, never payloads.
/// </summary>
internal sealed partial class AuditMiddleware(ILogger logger, AuditFileSink? file)
{
    public Func<MaasDelegate, MaasDelegate> Middleware => next => async context =>
    {
        long started = Stopwatch.GetTimestamp();
        long bytesIn = BytesIn(context.Request);
        bool streaming = false;
        try
        {
            await next(context).ConfigureAwait(false);
            if (context.Stream is { } stream)
            {
                streaming = true;
                context.Stream = RecordAtEnd(stream, context, started, bytesIn);
            }
        }
        catch (Exception ex)
        {
            Write(context, ex is MaasException m ? m.Code : MaasErrorCode.Internal, started, bytesIn, 0);
            throw;
        }

        if (!streaming)
        {
            Write(context, MaasErrorCode.Ok, started, bytesIn, context.Response?.Y is { } y ? 8L * y.Rows * y.Columns : 0);
        }
    };

    private async IAsyncEnumerable<DoubleMatrix> RecordAtEnd(IAsyncEnumerable<DoubleMatrix> stream, MaasCallContext context, long started, long bytesIn, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long bytesOut = 0;
        var code = MaasErrorCode.Cancelled;
        var chunks = stream.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    if (!await chunks.MoveNextAsync().ConfigureAwait(false))
                    {
                        code = MaasErrorCode.Ok;
                        break;
                    }
                }
                catch (Exception ex)
                {
                    code = ex is MaasException m ? m.Code : MaasErrorCode.Internal;
                    throw;
                }

                bytesOut += 8L * chunks.Current.Rows * chunks.Current.Columns;
                yield return chunks.Current;
            }
        }
        finally
        {
            await chunks.DisposeAsync().ConfigureAwait(false);
            Write(context, code, started, bytesIn, bytesOut);
        }
    }

    private void Write(MaasCallContext context, MaasErrorCode code, long started, long bytesIn, long bytesOut)
    {
        var record = new AuditRecord(
            DateTimeOffset.UtcNow,
            context.User?.Identity?.Name ?? "anonymous",
            context.Request.Model ?? "",
            Demos.Maas.Middleware.MaasTelemetry.OperationName(context.Request.Operation),
            code,
            bytesIn,
            bytesOut,
            (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds,
            context.RemoteAddress ?? "");
        LogCall(logger, record.Identity, record.Model, record.Operation, record.Code.ToString(), record.BytesIn, record.BytesOut, record.DurationMicros, record.RemoteAddress);
        file?.Append(record);
    }

    private static long BytesIn(Protocol.MaasRequest request) =>
        8L * ((request.X is { } x ? (long)x.Rows * x.Columns : 0) + (request.Vector is { } v ? (long)v.Rows * v.Columns : 0) + request.Theta.Length);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "audit identity={Identity} model={Model} operation={Operation} outcome={Outcome} bytes_in={BytesIn} bytes_out={BytesOut} duration_us={DurationMicros} remote={Remote}")]
    private static partial void LogCall(ILogger logger, string identity, string model, string operation, string outcome, long bytesIn, long bytesOut, long durationMicros, string remote);
}
