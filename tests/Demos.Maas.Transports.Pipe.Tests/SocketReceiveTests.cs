using System.Buffers;
using System.IO.Pipelines;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Pipe.Tests;

/// <summary>
/// The input of a pipe:// (and tcp://) connection: a thread of the connection's own receives and
/// completes reads. These tests drive it through the public connection API with raw bytes.
/// </summary>
public sealed class SocketReceiveTests
{
    internal static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ReadAtLeastAsync_returns_once_that_many_bytes_arrived_in_many_pieces()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        byte[] sent = Pattern(300 * 1024, seed: 1);

        var read = pair.Server.Transport.Input.ReadAtLeastAsync(sent.Length).AsTask();
        for (int at = 0; at < sent.Length; at += 7_000)
        {
            await pair.Client.Transport.Output.WriteAsync(sent.AsMemory(at, Math.Min(7_000, sent.Length - at)));
        }

        var result = await read.WaitAsync(Deadline);
        Assert.True(result.Buffer.Length >= sent.Length);
        Assert.Equal(sent, result.Buffer.Slice(0, sent.Length).ToArray());
        pair.Server.Transport.Input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task Every_byte_arrives_once_and_in_order_whatever_the_reader_consumes_and_examines()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        var random = new Random(7);
        byte[] sent = Pattern(2 * 1024 * 1024 + 123, seed: 2);
        var writing = Task.Run(async () =>
        {
            for (int at = 0; at < sent.Length;)
            {
                int n = Math.Min(random.Next(1, 200_000), sent.Length - at);
                await pair.Client.Transport.Output.WriteAsync(sent.AsMemory(at, n));
                at += n;
            }
        });

        var input = pair.Server.Transport.Input;
        var received = new List<byte>(sent.Length);
        var choices = new Random(11);
        while (received.Count < sent.Length)
        {
            var result = choices.Next(3) == 0
                ? await input.ReadAtLeastAsync(Math.Min(sent.Length - received.Count, choices.Next(1, 600_000))).AsTask().WaitAsync(Deadline)
                : await input.ReadAsync().AsTask().WaitAsync(Deadline);

            // Consume part of what came and examine all of it: the rest must come back with more.
            // Once nothing more is to come, examine only what was consumed, or ReadAsync would wait forever.
            long take = result.Buffer.Length == 0 ? 0 : choices.Next(0, (int)result.Buffer.Length + 1);
            received.AddRange(result.Buffer.Slice(0, take).ToArray());
            bool moreToCome = received.Count - take + result.Buffer.Length < sent.Length;
            var consumed = result.Buffer.GetPosition(take);
            input.AdvanceTo(consumed, moreToCome ? result.Buffer.End : consumed);
        }

        await writing.WaitAsync(Deadline);
        Assert.Equal(sent, received.ToArray());
    }

    [Fact]
    public async Task CancelPendingRead_completes_the_waiting_read_as_canceled_and_reading_goes_on()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        var input = pair.Server.Transport.Input;

        var waiting = input.ReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        input.CancelPendingRead();
        var canceled = await waiting.WaitAsync(Deadline);
        Assert.True(canceled.IsCanceled);
        input.AdvanceTo(canceled.Buffer.End);

        await pair.Client.Transport.Output.WriteAsync(new byte[] { 1, 2, 3 });
        var result = await input.ReadAtLeastAsync(3).AsTask().WaitAsync(Deadline);
        Assert.Equal(new byte[] { 1, 2, 3 }, result.Buffer.ToArray());
        input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task A_cancelled_token_fails_the_waiting_read_and_the_next_read_gets_the_bytes()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        var input = pair.Server.Transport.Input;
        using var cts = new CancellationTokenSource();

        var waiting = input.ReadAsync(cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Deadline));

        await pair.Client.Transport.Output.WriteAsync(new byte[] { 9 });
        var result = await input.ReadAsync().AsTask().WaitAsync(Deadline);
        Assert.Equal(new byte[] { 9 }, result.Buffer.ToArray());
        input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task The_peer_closing_ends_the_stream_after_its_last_bytes()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        var input = pair.Server.Transport.Input;
        var waiting = input.ReadAtLeastAsync(10).AsTask();

        await pair.Client.Transport.Output.WriteAsync(new byte[] { 4, 5 });
        await pair.Client.DisposeAsync();

        var result = await waiting.WaitAsync(Deadline);
        Assert.True(result.IsCompleted);
        Assert.Equal(new byte[] { 4, 5 }, result.Buffer.ToArray());
        input.AdvanceTo(result.Buffer.End);

        var after = await input.ReadAsync().AsTask().WaitAsync(Deadline);
        Assert.True(after.IsCompleted);
        Assert.True(after.Buffer.IsEmpty);
    }

    [Fact]
    public async Task Aborting_the_connection_ends_a_waiting_read()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        var waiting = pair.Server.Transport.Input.ReadAsync().AsTask();

        pair.Server.Abort();

        // Either the end of the stream or a typed I/O error, never a hang.
        try
        {
            var result = await waiting.WaitAsync(Deadline);
            Assert.True(result.IsCompleted);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
    }

    [Fact]
    public async Task Misuse_of_the_reader_gives_InvalidOperationException()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        var input = pair.Server.Transport.Input;

        Assert.Throws<InvalidOperationException>(() => input.AdvanceTo(default(SequencePosition)));
        var waiting = input.ReadAsync().AsTask();
        Assert.Throws<InvalidOperationException>(() => { _ = input.ReadAsync().AsTask(); }); // thrown at the call, not by the task

        await pair.Client.Transport.Output.WriteAsync(new byte[] { 1 });
        var result = await waiting.WaitAsync(Deadline);
        Assert.Throws<ArgumentException>(() => input.AdvanceTo(new ReadOnlySequence<byte>(new byte[4]).End));
        input.AdvanceTo(result.Buffer.End);

        await input.CompleteAsync();
        Assert.Throws<InvalidOperationException>(() => { _ = input.ReadAsync().AsTask(); }); // thrown at the call, not by the task
    }

    [Fact]
    public async Task Completing_the_reader_while_a_read_waits_fails_that_read()
    {
        await using var pair = await ConnectedPair.OpenAsync();
        var input = pair.Server.Transport.Input;
        var waiting = input.ReadAsync().AsTask();

        await input.CompleteAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => waiting.WaitAsync(Deadline));
    }

    [Fact]
    public async Task Code_that_blocks_after_a_read_holds_up_only_its_own_connection()
    {
        await using var first = await ConnectedPair.OpenAsync();
        await using var second = await ConnectedPair.OpenAsync();
        using var release = new ManualResetEventSlim();

        // The continuation runs on the first connection's receiving thread and blocks it.
        var blocked = Task.Run(async () =>
        {
            var result = await first.Server.Transport.Input.ReadAsync().ConfigureAwait(false);
            release.Wait();
            first.Server.Transport.Input.AdvanceTo(result.Buffer.End);
        });
        await first.Client.Transport.Output.WriteAsync(new byte[] { 1 });

        await second.Client.Transport.Output.WriteAsync(new byte[] { 2 });
        var other = await second.Server.Transport.Input.ReadAsync().AsTask().WaitAsync(Deadline);
        Assert.Equal(new byte[] { 2 }, other.Buffer.ToArray());
        second.Server.Transport.Input.AdvanceTo(other.Buffer.End);

        release.Set();
        await blocked.WaitAsync(Deadline);
    }

    internal static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    internal sealed class ConnectedPair : IAsyncDisposable
    {
        private readonly IMaasListener _listener;

        private ConnectedPair(IMaasListener listener, MaasConnection server, MaasConnection client)
        {
            _listener = listener;
            Server = server;
            Client = client;
        }

        public MaasConnection Server { get; }

        public MaasConnection Client { get; }

        public static async Task<ConnectedPair> OpenAsync(PipeTransport? transport = null)
        {
            transport ??= new PipeTransport();
            var uri = new Uri($"pipe://{Path.Combine(Path.GetTempPath(), $"maas-test-{Guid.NewGuid():N}.sock")}");
            var listener = await transport.BindAsync(uri);
            var accepting = listener.AcceptAsync().AsTask();
            var client = await transport.ConnectAsync(uri);
            var server = await accepting.WaitAsync(Deadline) ?? throw new InvalidOperationException("The listener closed.");
            return new ConnectedPair(listener, server, client);
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            await _listener.DisposeAsync();
        }
    }
}

/// <summary>Counts the threads of the whole process, so it runs alone.</summary>
[CollectionDefinition(nameof(ReceivingThreadTests), DisableParallelization = true)]
[Collection(nameof(ReceivingThreadTests))]
public sealed class ReceivingThreadTests
{
    [Fact]
    public async Task Closed_connections_leave_no_receiving_thread_behind()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // thread names are read from /proc
        }

        // Threads are told apart by id: connections of other tests may still be closing meanwhile.
        // A thread whose connection closed waits a while for the next one before it ends
        // (ReceivingThreads.KeepIdle): once none waits, these connections get threads of their own.
        await NoThreadWaitsForALoopAsync();
        var before = ReceivingThreadIds();
        var pairs = new List<SocketReceiveTests.ConnectedPair>();
        for (int i = 0; i < 8; i++)
        {
            pairs.Add(await SocketReceiveTests.ConnectedPair.OpenAsync());
        }

        var ours = ReceivingThreadIds();
        ours.ExceptWith(before);
        Assert.True(ours.Count >= 16, $"{ours.Count} new receiving threads for 16 connections");

        // Aborted without being disposed, and with no read waiting: their threads end too.
        foreach (var pair in pairs.Take(4))
        {
            pair.Client.Abort();
            pair.Server.Abort();
        }

        // Their threads end once they have waited ReceivingThreads.KeepIdle for another connection.
        Assert.True(await LiveAfterWaitAsync(ours, ours.Count - 8) <= ours.Count - 8, "the threads of 8 aborted connections did not end");

        foreach (var pair in pairs)
        {
            await pair.DisposeAsync();
        }

        int left = await LiveAfterWaitAsync(ours, 0);
        Assert.True(left == 0, $"{left} of {ours.Count} receiving threads left after closing their connections");
    }

    [Fact]
    public async Task Past_256_connections_in_a_process_further_ones_read_without_a_thread_and_all_carry_bytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // thread names are read from /proc
        }

        int before = ReceivingThreads();
        var pairs = new List<SocketReceiveTests.ConnectedPair>();
        try
        {
            for (int i = 0; i < 140; i++)
            {
                pairs.Add(await SocketReceiveTests.ConnectedPair.OpenAsync());
            }

            // 280 connections (both ends live in this process): at most 256 have a thread.
            int threads = ReceivingThreads();
            Assert.True(threads <= 256, $"{threads} receiving threads for 280 connections");
            Assert.True(threads >= 256 - before, $"{threads} receiving threads, {before} before");

            for (int i = 0; i < pairs.Count; i++)
            {
                byte[] message = [(byte)i, (byte)(i >> 8)];
                await pairs[i].Client.Transport.Output.WriteAsync(message);
                var input = pairs[i].Server.Transport.Input;
                var result = await input.ReadAtLeastAsync(2).AsTask().WaitAsync(SocketReceiveTests.Deadline);
                Assert.Equal(message, result.Buffer.ToArray());
                input.AdvanceTo(result.Buffer.End);
            }
        }
        finally
        {
            foreach (var pair in pairs)
            {
                await pair.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_read_waiting_on_an_idle_connection_stops_spinning_and_sleeps()
    {
        await NoThreadWaitsForALoopAsync();
        var before = ReceivingThreadIds();
        await using var pair = await SocketReceiveTests.ConnectedPair.OpenAsync();
        var threads = ReceivingThreadIds();
        threads.ExceptWith(before);
        Assert.Equal(2, threads.Count);

        // The server's read waits; its thread spins briefly, then sleeps until bytes come.
        var read = pair.Server.Transport.Input.ReadAsync().AsTask();
        await Task.Delay(200);
        long start = CpuTicks(threads);
        await Task.Delay(1000);
        long used = CpuTicks(threads) - start;

        // A thread that kept spinning would use about 100 ticks (1 s) here; a sleeping one none.
        Assert.True(used <= 10, $"the receiving threads used {used} clock ticks in 1 s while idle");

        await pair.Client.Transport.Output.WriteAsync(new byte[] { 1, 2, 3 });
        var result = await read.WaitAsync(SocketReceiveTests.Deadline);
        Assert.Equal([1, 2, 3], result.Buffer.ToArray());
        pair.Server.Transport.Input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task A_transports_receive_spin_time_is_how_long_its_receiving_threads_stay_awake()
    {
        await NoThreadWaitsForALoopAsync();
        var before = ReceivingThreadIds();
        await using var pair = await SocketReceiveTests.ConnectedPair.OpenAsync(new PipeTransport { ReceiveSpinTime = TimeSpan.FromSeconds(30) });
        var threads = ReceivingThreadIds();
        threads.ExceptWith(before);
        Assert.Equal(2, threads.Count);

        // Both threads stay awake: the server's for the bytes its read waits for, the client's for a read.
        // Awake, a thread is runnable ('R') whenever it is looked at, however busy the machine (it
        // yields its core, but stays runnable); asleep in poll or on its monitor it is 'S'. With the
        // default spin (50 µs) nearly every look would see 'S'.
        var read = pair.Server.Transport.Input.ReadAsync().AsTask();
        int looks = 0;
        int awake = 0;
        for (int i = 0; i < 20; i++)
        {
            await Task.Delay(50);
            foreach (int id in threads)
            {
                looks++;
                awake += ThreadState(id) == 'R' ? 1 : 0;
            }
        }

        Assert.True(awake >= looks * 3 / 4, $"the receiving threads were runnable in {awake} of {looks} looks over 1 s with a 30 s spin");

        await pair.Client.Transport.Output.WriteAsync(new byte[] { 7 });
        var result = await read.WaitAsync(SocketReceiveTests.Deadline);
        Assert.Equal([7], result.Buffer.ToArray());
        pair.Server.Transport.Input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public void A_negative_receive_spin_time_is_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new PipeTransport { ReceiveSpinTime = TimeSpan.FromMicroseconds(-1) });
        Assert.Contains("must not be negative", error.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.Zero, new PipeTransport { ReceiveSpinTime = TimeSpan.Zero }.ReceiveSpinTime);
    }

    // The thread's state (field 3 of /proc/.../stat): 'R' runnable, 'S' sleeping, ...
    private static char ThreadState(int id)
    {
        string stat = File.ReadAllText($"/proc/self/task/{id}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    // User and system CPU time of the threads, in clock ticks (fields 14 and 15 of /proc/.../stat).
    private static long CpuTicks(IEnumerable<int> threads) => threads.Sum(id =>
    {
        string stat = File.ReadAllText($"/proc/self/task/{id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    });

    // Waits (bounded) until no receiving thread waits for another connection's loop, so that the
    // next connections start threads of their own.
    private static async Task NoThreadWaitsForALoopAsync()
    {
        var deadline = DateTime.UtcNow + SocketReceiveTests.Deadline;
        while (Transports.ReceivingThreads.Idle > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Transports.ReceivingThreads.Idle} receiving threads still wait for a loop");
            await Task.Delay(20);
        }
    }

    // Waits (bounded) until at most `count` of `threads` are alive; returns how many are.
    private static async Task<int> LiveAfterWaitAsync(HashSet<int> threads, int count)
    {
        var deadline = DateTime.UtcNow + SocketReceiveTests.Deadline;
        while (true)
        {
            var live = ReceivingThreadIds();
            live.IntersectWith(threads);
            if (live.Count <= count || DateTime.UtcNow > deadline)
            {
                return live.Count;
            }

            await Task.Delay(20);
        }
    }

    private static HashSet<int> ReceivingThreadIds() =>
        [.. Directory.GetDirectories("/proc/self/task").Where(IsReceivingThread).Select(task => int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture))];

    private static bool IsReceivingThread(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd() == "maas socket rec"; // names are cut at 15 characters
        }
        catch (IOException)
        {
            return false; // the thread ended meanwhile
        }
    }

    private static int ReceivingThreads() => ReceivingThreadIds().Count;
}
