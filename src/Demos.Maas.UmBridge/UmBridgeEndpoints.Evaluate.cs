using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transports.Http;
using Microsoft.AspNetCore.Http;

namespace Demos.Maas.UmBridge;

/// <summary>
/// <c>/Evaluate</c> as a UM-Bridge client calls it in its loop, with less work per call.
/// </summary>
/// <remarks>
/// A client that blocks on its read (UM-Bridge's does) lets its core go idle while it waits, and on
/// a virtual machine an idle core takes long to wake: measured here, an answer that leaves the
/// server 2 µs later reaches such a client about 10 µs later. So the usual request — an object
/// with a string <c>name</c>, one input vector of numbers, an empty or no <c>config</c> — is read
/// with a reader straight from the body instead of into a document, checked against the model's
/// info in the registry, and run through the pipeline once: that call's own pass authorizes it, so
/// the pipeline is not asked for the model's info first. Every other request, and one that fails a
/// check here, takes the general path, which asks the pipeline for the model before it checks
/// anything: its errors come in UM-Bridge's order, and a caller that may not see a model gets the
/// answer an absent model gets, whatever its input.
/// </remarks>
internal sealed partial class UmBridgeEndpoints
{
    // Longer input vectors take the general path; a quick call carries a handful of numbers.
    private const int MaxQuickInput = 64;

    // A longer answer is written by the general path's JSON writer.
    private const int MaxQuickAnswerBytes = 1024;

    /// <summary>A request body read for a route: the usual <c>/Evaluate</c> request read and checked, or a document.</summary>
    private readonly struct RequestBody(JsonDocument? document, QuickEvaluation? quick)
    {
        public JsonDocument? Document => document;

        public QuickEvaluation? Quick => quick;
    }

    /// <summary>The usual <c>/Evaluate</c> request: the name as sent, the model it names, and the point (pooled; the caller disposes it).</summary>
    private readonly record struct QuickEvaluation(string Name, IModel Model, DoubleMatrix X)
    {
        public ModelInfo Info => Model.Info;
    }

    private RequestBody ReadBody(ReadOnlySequence<byte> body, bool quickEvaluate)
    {
        if (quickEvaluate && TryReadQuickEvaluation(body) is { } quick)
        {
            return new RequestBody(null, quick);
        }

        try
        {
            return new RequestBody(JsonDocument.Parse(body), null);
        }
        catch (JsonException ex)
        {
            throw new UmBridgeError("InvalidInput", $"The body is not valid JSON: {ex.Message}", 400);
        }
    }

    /// <summary>The request read and checked, or null when it is not the usual shape or fails a check (the general path then answers it).</summary>
    private QuickEvaluation? TryReadQuickEvaluation(ReadOnlySequence<byte> body)
    {
        Span<double> values = stackalloc double[MaxQuickInput];
        int count;
        string? name;
        if (body.IsSingleSegment && UsualEvaluateRequest.TryScan(body.FirstSpan, values, out count, out var nameBytes))
        {
            name = NameOf(body.FirstSpan[nameBytes]);
        }
        else if (!TryReadWithReader(body, values, out count, out name))
        {
            return null;
        }

        if (name is null || server.Models.TryResolve(name) is not { } model)
        {
            return null;
        }

        // Only names of served models are remembered, so a client cannot make it hold arbitrary text.
        if (!ReferenceEquals(name, Volatile.Read(ref _lastName)?.Name))
        {
            Volatile.Write(ref _lastName, new LastName(name, System.Text.Encoding.UTF8.GetBytes(name)));
        }

        if (count < 0 || model.Info is not { } info || !IsServed(info) || count != info.InputDimension)
        {
            return null;
        }

        return new QuickEvaluation(name, model, DoubleMatrix.CopyOf(values[..count], 1, count));
    }

    // The usual shape with any JSON spelling (escapes, unknown keys), read with the JSON reader: false when it is not that shape.
    private bool TryReadWithReader(ReadOnlySequence<byte> body, Span<double> values, out int count, out string? name)
    {
        count = -1;
        name = null;
        bool config = false;
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    if (name is not null || !reader.Read() || reader.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }

                    name = NameOf(ref reader);
                }
                else if (reader.ValueTextEquals("input"u8))
                {
                    if (count >= 0 || !TryReadOnePoint(ref reader, values, out count))
                    {
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("config"u8))
                {
                    // Only an empty config: entries may name model parameters.
                    if (config || !reader.Read() || reader.TokenType != JsonTokenType.StartObject || !reader.Read() || reader.TokenType != JsonTokenType.EndObject)
                    {
                        return false;
                    }

                    config = true;
                }
                else
                {
                    // Other keys are ignored, as the general path ignores them.
                    if (!reader.Read())
                    {
                        return false;
                    }

                    reader.Skip();
                }
            }

            // The body must end with the object: trailing content makes the reader throw.
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The name a client sent last and its UTF-8 bytes: a client in its loop names the same model every time.</summary>
    private sealed record LastName(string Name, byte[] Utf8);

    private LastName? _lastName;

    // The string of the name the reader is on, without making a new one when it is the name
    // remembered (ValueTextEquals compares the unescaped text, so an escaped spelling matches too).
    private string NameOf(ref Utf8JsonReader reader)
    {
        if (Volatile.Read(ref _lastName) is { } last && reader.ValueTextEquals(last.Utf8))
        {
            return last.Name;
        }

        return reader.GetString()!;
    }

    // The same for a name's bytes as sent, without escapes (UsualEvaluateRequest's).
    private string NameOf(ReadOnlySpan<byte> utf8)
    {
        if (Volatile.Read(ref _lastName) is { } last && utf8.SequenceEqual(last.Utf8))
        {
            return last.Name;
        }

        return System.Text.Encoding.UTF8.GetString(utf8);
    }

    // "input": [[numbers]] with exactly one vector of at most MaxQuickInput JSON numbers.
    private static bool TryReadOnePoint(ref Utf8JsonReader reader, scoped Span<double> values, out int count)
    {
        count = 0;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.Number)
        {
            if (count == values.Length || !reader.TryGetDouble(out values[count]))
            {
                return false;
            }

            count++;
        }

        return reader.TokenType == JsonTokenType.EndArray && reader.Read() && reader.TokenType == JsonTokenType.EndArray;
    }

    private async Task EvaluateQuickAsync(HttpContext ctx, QuickEvaluation quick)
    {
        var request = new MaasRequest
        {
            Operation = IsLogDensityOnly(quick.Info) ? Protocol.Operation.LogDensity : Protocol.Operation.Evaluate,
            Model = quick.Info.Name,
            X = quick.X,
        };
        MaasCallContext context;
        try
        {
            var timeout = RestEndpoints.ReadTimeout(ctx, request);
            context = await RestEndpoints.InvokeAnsweringFirstAsync(server, request, RestEndpoints.Caller(ctx), timeout, ctx.RequestAborted, quick.Model).ConfigureAwait(false);
        }
        catch (MaasException ex) when (ex.Code == MaasErrorCode.NotFound)
        {
            // The caller may not see the model: the general path's answer for an absent one.
            throw ModelNotFound(quick.Name);
        }

        // The call's metrics and usage line are recorded once the answer has gone.
        using var answered = new RestEndpoints.AnsweredOnDispose(context);
        using var y = context.Response!.Y!;
        if (TryWriteQuickAnswer(ctx.Response, y.Span))
        {
            await ctx.Response.BodyWriter.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            await WriteLongAnswerAsync(ctx, new Output(y.ToArray(), Nested: true)).ConfigureAwait(false);
        }
    }

    // Apart, so that its lambda's closure is made only for a long answer.
    private Task WriteLongAnswerAsync(HttpContext ctx, Output output) => RestEndpoints.WriteJsonAsync(ctx, 200, w => WriteResult(w, output));

    // {"output":[[y…]]}, the bytes the general path's JSON writer makes, written with its length
    // into the response; false when it would not fit the stack buffer (the writer then makes it).
    private static bool TryWriteQuickAnswer(HttpResponse response, ReadOnlySpan<double> y)
    {
        Span<byte> answer = stackalloc byte[MaxQuickAnswerBytes];
        int n = 0;
        if (!Append(answer, ref n, "{\"output\":[["u8))
        {
            return false;
        }

        for (int i = 0; i < y.Length; i++)
        {
            if ((i > 0 && !Append(answer, ref n, ","u8)) || !AppendNumber(answer, ref n, y[i]))
            {
                return false;
            }
        }

        if (!Append(answer, ref n, "]]}"u8))
        {
            return false;
        }

        response.StatusCode = 200;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = n;
        answer[..n].CopyTo(response.BodyWriter.GetSpan(n));
        response.BodyWriter.Advance(n);
        return true;
    }

    private static bool Append(Span<byte> to, ref int at, ReadOnlySpan<byte> bytes)
    {
        if (!bytes.TryCopyTo(to[at..]))
        {
            return false;
        }

        at += bytes.Length;
        return true;
    }

    // As MaasJson.WriteNumber: shortest round-trip text, or "NaN", "Infinity", "-Infinity" as strings.
    private static bool AppendNumber(Span<byte> to, ref int at, double value)
    {
        if (!double.IsFinite(value))
        {
            return Append(to, ref at, double.IsNaN(value) ? "\"NaN\""u8 : value > 0 ? "\"Infinity\""u8 : "\"-Infinity\""u8);
        }

        if (!value.TryFormat(to[at..], out int written, default, CultureInfo.InvariantCulture))
        {
            return false;
        }

        at += written;
        return true;
    }
}
