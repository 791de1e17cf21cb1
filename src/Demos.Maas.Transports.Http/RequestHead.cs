using Demos.Maas.Protocol;
using MessagePack;

namespace Demos.Maas.Transports.Http;

/// <summary>The fields of a Request message the HTTP client adapter routes by, read without decoding its arrays.</summary>
internal readonly record struct RequestHead(uint Id, Operation Operation, string? Model, string? Dataset, long? TimeoutMicros)
{
    /// <summary>Reads the head of a Request message; false for any other message or anything unusual (the caller then decodes fully).</summary>
    public static bool TryRead(byte[] payload, out RequestHead head)
    {
        head = default;
        try
        {
            var r = new MessagePackReader(payload);
            if (r.ReadArrayHeader() < 3 || r.ReadUInt32() != (uint)MessageType.Request)
            {
                return false;
            }

            uint id = r.ReadUInt32();
            Operation op = 0;
            string? model = null, dataset = null;
            long? timeout = null;
            bool hasOp = false;
            int n = r.ReadMapHeader();
            for (int i = 0; i < n; i++)
            {
                if (!r.TryReadStringSpan(out var key))
                {
                    return false;
                }

                if (key.SequenceEqual("op"u8)) { op = (Operation)r.ReadUInt32(); hasOp = true; }
                else if (key.SequenceEqual("model"u8)) { model = r.ReadString(); }
                else if (key.SequenceEqual("dataset"u8)) { dataset = r.ReadString(); }
                else if (key.SequenceEqual("timeout_us"u8)) { timeout = (long)Math.Min(r.ReadUInt64(), long.MaxValue); }
                else { r.Skip(); }
            }

            if (!hasOp)
            {
                return false;
            }

            head = new RequestHead(id, op, model, dataset, timeout);
            return true;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException or OverflowException)
        {
            return false;
        }
    }
}
