using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Transports.Shm.Tests;

/// <summary>The ring itself, in one process: positions, wrap-around and want-space signalling.</summary>
public sealed class ShmRingTests
{
    private static string TempRing() => Path.Combine(Path.GetTempPath(), $"maas-ringtest-{Guid.NewGuid():N}.shm");

    /// <summary>Writes and reads of random sizes, interleaved at random, give back the bytes in order.</summary>
    [Property(MaxTest = 60)]
    public bool Random_write_and_read_sizes_preserve_the_byte_sequence(PositiveInt[] writes, PositiveInt[] reads, int seed)
    {
        string path = TempRing();
        try
        {
            using var region = ShmRegion.Create(path, 4096);
            var ring = region.Requests;
            var random = new Random(seed);
            var sent = new List<byte>();
            var received = new List<byte>();
            var pending = new Queue<byte[]>(writes.Select(w => Enumerable.Range(0, 1 + (w.Get % 10000)).Select(_ => (byte)random.Next(256)).ToArray()));
            int readIndex = 0;
            long position = 0;
            byte[]? current = null;
            int offset = 0;
            while (pending.Count > 0 || current is not null || ring.Available(position) > 0)
            {
                if (current is null && pending.Count > 0)
                {
                    current = pending.Dequeue();
                    offset = 0;
                }

                if (current is not null && random.Next(2) == 0)
                {
                    int n = ring.Write(current.AsSpan(offset));
                    sent.AddRange(current.AsSpan(offset, n).ToArray());
                    offset += n;
                    if (offset == current.Length)
                    {
                        current = null;
                    }
                }
                else
                {
                    int want = reads.Length == 0 ? 100 : 1 + (reads[readIndex++ % reads.Length].Get % 6000);
                    var buffer = new byte[want];
                    int n = ring.Peek(position, buffer);
                    received.AddRange(buffer.AsSpan(0, n).ToArray());
                    position += n;
                    ring.Release(position);
                }
            }

            return sent.SequenceEqual(received) && sent.Count == writes.Sum(w => 1 + (w.Get % 10000));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_producer_and_a_consumer_thread_pass_8_MiB_through_a_4_KiB_ring_intact()
    {
        string path = TempRing();
        try
        {
            using var region = ShmRegion.Create(path, 4096);
            var ring = region.Requests;
            const int total = 8 << 20;
            static byte At(long i) => (byte)((i * 2654435761L) >> 13);
            var producer = new Thread(() =>
            {
                var random = new Random(1);
                var chunk = new byte[9000];
                long sent = 0;
                while (sent < total)
                {
                    int n = (int)Math.Min(total - sent, 1 + random.Next(chunk.Length));
                    for (int i = 0; i < n; i++)
                    {
                        chunk[i] = At(sent + i);
                    }

                    int offset = 0;
                    while (offset < n)
                    {
                        int w = ring.Write(chunk.AsSpan(offset, n - offset));
                        offset += w;
                        if (w == 0)
                        {
                            Thread.Yield();
                        }
                    }

                    sent += n;
                }
            });
            producer.Start();
            var random = new Random(2);
            var buffer = new byte[7000];
            long position = 0;
            long mismatches = 0;
            while (position < total)
            {
                int n = ring.Peek(position, buffer.AsSpan(0, 1 + random.Next(buffer.Length)));
                for (int i = 0; i < n; i++)
                {
                    mismatches += buffer[i] == At(position + i) ? 0 : 1;
                }

                position += n;
                ring.Release(position);
                if (n == 0)
                {
                    Thread.Yield();
                }
            }

            producer.Join();
            Assert.Equal(0, mismatches);
            Assert.Equal(0, ring.Available(position));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_full_ring_takes_nothing_and_a_producer_that_asks_for_space_is_told_when_it_frees()
    {
        string path = TempRing();
        try
        {
            using var region = ShmRegion.Create(path, 4096);
            var ring = region.Responses;
            Assert.Equal(4096, ring.Write(new byte[5000]));
            Assert.Equal(0, ring.Write(new byte[1]));
            Assert.False(ring.AskForSpace());
            Assert.True(ring.Release(10)); // the consumer sees the flag once
            Assert.False(ring.Release(20));
            Assert.Equal(20, ring.Free);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_file_that_is_no_ring_is_refused()
    {
        string path = TempRing();
        try
        {
            File.WriteAllBytes(path, new byte[8192]);
            var error = Assert.Throws<InvalidDataException>(() => ShmRegion.Open(path));
            Assert.Contains("not a version 1 shm:// ring file", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
