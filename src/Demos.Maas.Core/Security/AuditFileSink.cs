using System.Text.Json;

namespace Demos.Maas.Security;

/// <summary>Appends audit records to a file, one JSON object per line, flushed per record so a crash loses none.</summary>
internal sealed class AuditFileSink : IDisposable
{
    private readonly Lock _lock = new();
    private readonly FileStream _file;

    public AuditFileSink(string path)
    {
        try
        {
            _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"The audit log file cannot be opened for appending: {ex.Message}");
        }
    }

    public void Append(AuditRecord record)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("time", record.Time);
            w.WriteString("identity", record.Identity);
            w.WriteString("model", record.Model);
            w.WriteString("operation", record.Operation);
            w.WriteString("outcome", record.Code.ToString());
            w.WriteNumber("bytes_in", record.BytesIn);
            w.WriteNumber("bytes_out", record.BytesOut);
            w.WriteNumber("duration_us", record.DurationMicros);
            w.WriteString("remote", record.RemoteAddress);
            w.WriteEndObject();
        }

        lock (_lock)
        {
            _file.Write(buffer.WrittenSpan);
            _file.WriteByte((byte)'\n');
            _file.Flush();
        }
    }

    public void Dispose() => _file.Dispose();
}
