using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Http;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>The collected response body: whatever the writer's pieces, the bytes arrive in order, with a length when they fit.</summary>
public sealed class ResponseBodyTests
{
    // Pieces as (size hint, bytes written) pairs; the writer writes at most what it was given.
    private static readonly Gen<(int Hint, int Count)[]> Pieces =
        Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(
            Gen.Choose(0, 70_000).SelectMany(hint => Gen.Choose(0, Math.Max(hint, 1)).Select(count => (hint, count))),
            n));

    [Property(MaxTest = 200)]
    public Property Every_byte_arrives_in_order_with_its_length_unless_the_body_outgrew_the_buffer() =>
        Prop.ForAll(Pieces.ToArbitrary(), pieces =>
        {
            var context = new DefaultHttpContext();
            using var sent = new MemoryStream();
            context.Response.Body = sent;
            var written = new List<byte>();
            byte next = 0;
            bool outgrown = false; // some piece asked for more than the collected body may hold
            using (var body = new ResponseBody(context.Response))
            {
                foreach (var (hint, count) in pieces)
                {
                    outgrown |= written.Count + Math.Max(hint, 1) > ResponseBody.MaxBufferedBytes;
                    var span = body.GetSpan(hint);
                    if (span.Length < Math.Max(hint, 1))
                    {
                        return false;
                    }

                    int n = Math.Min(count, span.Length);
                    for (int i = 0; i < n; i++)
                    {
                        span[i] = next;
                        written.Add(next++);
                    }

                    body.Advance(n);
                }

                body.FlushAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
                if (body.IsStreaming != outgrown || (outgrown ? context.Response.ContentLength is not null : context.Response.ContentLength != written.Count))
                {
                    return false;
                }
            }

            return sent.ToArray().AsSpan().SequenceEqual(written.ToArray());
        });

    [Fact]
    public void Advancing_past_the_memory_given_out_is_refused_and_a_disposed_body_is_not_written()
    {
        var context = new DefaultHttpContext();
        var body = new ResponseBody(context.Response);
        int length = body.GetSpan(10).Length;
        Assert.Throws<ArgumentOutOfRangeException>(() => body.Advance(length + 1));
        body.Dispose();
        Assert.Throws<ObjectDisposedException>(() => body.GetSpan(1));
    }
}
