using System.Buffers;
using MessagePack;

namespace Demos.Maas.Protocol;

// The server's messages: responses, stream chunks and ends, errors, Goodbye, parameter notifications.
public static partial class MessageCodec
{
    // ---- Response, stream, error, goodbye ---------------------------------------------------

    private static void WriteResponse(ref MessagePackWriter w, MaasResponse m, IBorrowingWriter? borrowing)
    {
        int count = (m.Y is null ? 0 : 1) + (m.Info is null ? 0 : 1) + (m.Models is null ? 0 : 1)
            + (m.Datasets is null ? 0 : 1) + (m.Parameters is null ? 0 : 2);
        w.WriteMapHeader(count);
        if (m.Y is not null) { w.WriteString("y"u8); WriteMatrix(ref w, m.Y, borrowing); }
        if (m.Info is not null) { w.WriteString("info"u8); WriteInfo(ref w, m.Info); }
        if (m.Models is not null)
        {
            w.WriteString("models"u8);
            w.WriteArrayHeader(m.Models.Count);
            foreach (var info in m.Models)
            {
                WriteInfo(ref w, info);
            }
        }

        if (m.Datasets is not null)
        {
            w.WriteString("datasets"u8);
            w.WriteArrayHeader(m.Datasets.Count);
            foreach (var d in m.Datasets)
            {
                WriteDataset(ref w, d);
            }
        }

        if (m.Parameters is not null)
        {
            w.WriteString("version"u8);
            w.Write((ulong)m.Parameters.Version);
            w.WriteString("values"u8);
            WriteValues(ref w, m.Parameters.Values);
        }
    }

    private static MaasResponse ReadResponse(ref MessagePackReader r, uint id, ReceivedBuffer? received)
    {
        var m = new MaasResponse { Id = id };
        long? version = null;
        Dictionary<string, double[]>? values = null;
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("y"u8)) { m.Y = ReadMatrix(ref r, "y", received); }
            else if (key.SequenceEqual("info"u8)) { m.Info = ReadInfo(ref r); }
            else if (key.SequenceEqual("models"u8))
            {
                int count = r.ReadArrayHeader();
                var models = new List<ModelInfo>(Math.Min(count, 1024));
                for (int k = 0; k < count; k++)
                {
                    models.Add(ReadInfo(ref r));
                }

                m.Models = models;
            }
            else if (key.SequenceEqual("datasets"u8))
            {
                int count = r.ReadArrayHeader();
                var datasets = new List<DatasetInfo>(Math.Min(count, 1024));
                for (int k = 0; k < count; k++)
                {
                    datasets.Add(ReadDataset(ref r));
                }

                m.Datasets = datasets;
            }
            else if (key.SequenceEqual("version"u8)) { version = checked((long)r.ReadUInt64()); }
            else if (key.SequenceEqual("values"u8)) { values = ReadValues(ref r); }
            else { Skip(ref r, 1); }
        }

        if (version is not null || values is not null)
        {
            m.Parameters = new ParameterSet(version ?? 0, values ?? []);
        }

        return m;
    }

    private static void WriteChunk(ref MessagePackWriter w, StreamChunkMessage m, IBorrowingWriter? borrowing)
    {
        w.WriteMapHeader(2);
        w.WriteString("seq"u8);
        w.Write((ulong)m.Sequence);
        w.WriteString("y"u8);
        WriteMatrix(ref w, m.Rows, borrowing);
    }

    private static StreamChunkMessage ReadChunk(ref MessagePackReader r, uint id, ReceivedBuffer? received)
    {
        long seq = 0;
        DoubleMatrix? rows = null;
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("seq"u8)) { seq = checked((long)r.ReadUInt64()); }
            else if (key.SequenceEqual("y"u8)) { rows?.Dispose(); rows = ReadMatrix(ref r, "y", received); }
            else { Skip(ref r, 1); }
        }

        return new StreamChunkMessage { Id = id, Sequence = seq, Rows = rows ?? throw Malformed("StreamChunk has no y") };
    }

    private static void WriteEnd(ref MessagePackWriter w, StreamEndMessage m)
    {
        w.WriteMapHeader(m.Seed is null ? 1 : 2);
        w.WriteString("rows"u8);
        w.Write((ulong)m.TotalRows);
        if (m.Seed is { } seed) { w.WriteString("seed"u8); w.Write(seed); }
    }

    private static StreamEndMessage ReadEnd(ref MessagePackReader r)
    {
        var m = new StreamEndMessage();
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("rows"u8)) { m.TotalRows = checked((long)r.ReadUInt64()); }
            else if (key.SequenceEqual("seed"u8)) { m.Seed = r.ReadUInt64(); }
            else { Skip(ref r, 1); }
        }

        return m;
    }

    private static void WriteError(ref MessagePackWriter w, ErrorMessage m)
    {
        w.WriteMapHeader(m.Details is null ? 3 : 4);
        w.WriteString("code"u8);
        w.Write((uint)m.Code);
        w.WriteString("name"u8);
        w.Write(m.Code.ToString());
        w.WriteString("message"u8);
        w.Write(m.Message);
        if (m.Details is not null)
        {
            w.WriteString("details"u8);
            w.WriteMapHeader(m.Details.Count);
            foreach (var (k, v) in m.Details.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.Write(k);
                w.Write(v);
            }
        }
    }

    private static ErrorMessage ReadError(ref MessagePackReader r)
    {
        var m = new ErrorMessage { Code = MaasErrorCode.Internal };
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("code"u8)) { m.Code = (MaasErrorCode)r.ReadUInt32(); }
            else if (key.SequenceEqual("message"u8)) { m.Message = ReadString(ref r); }
            else if (key.SequenceEqual("details"u8))
            {
                int count = r.ReadMapHeader();
                var details = new Dictionary<string, string>(StringComparer.Ordinal);
                for (int k = 0; k < count; k++)
                {
                    string dk = ReadString(ref r);
                    details[dk] = ReadString(ref r);
                }

                m.Details = details;
            }
            else { Skip(ref r, 1); }
        }

        return m;
    }

    private static CancelMessage ReadCancel(ref MessagePackReader r)
    {
        Skip(ref r, 1);
        return new CancelMessage();
    }

    private static void WriteGoodbye(ref MessagePackWriter w, GoodbyeMessage m)
    {
        w.WriteMapHeader(2);
        w.WriteString("code"u8);
        w.Write((uint)m.Code);
        w.WriteString("message"u8);
        w.Write(m.Message);
    }

    private static GoodbyeMessage ReadGoodbye(ref MessagePackReader r)
    {
        var m = new GoodbyeMessage();
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("code"u8)) { m.Code = (MaasErrorCode)r.ReadUInt32(); }
            else if (key.SequenceEqual("message"u8)) { m.Message = ReadString(ref r); }
            else { Skip(ref r, 1); }
        }

        return m;
    }

    private static void WriteParametersChanged(ref MessagePackWriter w, ParametersChangedMessage m)
    {
        w.WriteMapHeader(2);
        w.WriteString("model"u8);
        w.Write(m.Model.ToString("D"));
        w.WriteString("version"u8);
        w.Write((ulong)m.Version);
    }

    private static ParametersChangedMessage ReadParametersChanged(ref MessagePackReader r)
    {
        var m = new ParametersChangedMessage();
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("model"u8))
            {
                string text = ReadString(ref r);
                m.Model = Guid.TryParse(text, out var uuid) ? uuid : throw Malformed($"model '{text}' is not a uuid");
            }
            else if (key.SequenceEqual("version"u8)) { m.Version = checked((long)r.ReadUInt64()); }
            else { Skip(ref r, 1); }
        }

        return m;
    }

    private static void WriteCompressed(ref MessagePackWriter w, CompressedMessage m)
    {
        w.WriteMapHeader(3);
        w.WriteString("codec"u8);
        w.Write(m.Codec);
        w.WriteString("raw"u8);
        w.Write(m.RawLength);
        w.WriteString("data"u8);
        w.Write(m.Data.Span);
    }

    private static CompressedMessage ReadCompressed(ref MessagePackReader r)
    {
        var m = new CompressedMessage();
        bool codec = false, raw = false, data = false;
        int n = r.ReadMapHeader();
        for (int i = 0; i < n; i++)
        {
            var key = ReadKey(ref r);
            if (key.SequenceEqual("codec"u8)) { m.Codec = ReadString(ref r); codec = true; }
            else if (key.SequenceEqual("raw"u8)) { m.RawLength = r.ReadUInt32(); raw = true; }
            else if (key.SequenceEqual("data"u8))
            {
                m.Data = (r.ReadBytes() ?? throw Malformed("Compressed data is nil")).ToArray();
                data = true;
            }
            else { Skip(ref r, 1); }
        }

        if (!codec || !raw || !data)
        {
            throw Malformed("a Compressed message needs codec, raw and data");
        }

        return m;
    }
}
