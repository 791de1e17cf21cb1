using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Core.Tests;

/// <summary>
/// The server's hot path: which calls run on the read loop, and frames of concurrent senders that
/// share a flush — none may be left unflushed, whoever gives up waiting.
/// </summary>
public sealed class HotPathTests
{
    private static MaasRequest Request(Operation operation = Operation.LogDensity, int rows = 1, string model = "m") =>
        new() { Id = 1, Operation = operation, Model = model, X = DoubleMatrix.Rent(rows, 1) };

    private static long Ticks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    // What a connection asks of the durations for one request: whether it may run on the read loop, and its time afterwards.
    private static bool IsQuick(CallDurations durations, MaasRequest request) => durations.Of(request)?.IsQuickFor(request) == true;

    private static void Record(CallDurations durations, MaasRequest request, long ticks) => durations.Of(request)?.Add(ticks);

    [Fact]
    public void A_model_with_no_history_is_not_quick()
    {
        Assert.False(IsQuick(new CallDurations(), Request()));
    }

    [Fact]
    public void A_model_whose_calls_were_quick_is_quick_for_small_unary_calls_only()
    {
        var durations = new CallDurations();
        for (int i = 0; i < 10; i++)
        {
            Record(durations, Request(), Ticks(TimeSpan.FromMicroseconds(2)));
        }

        Assert.True(IsQuick(durations, Request()));
        Assert.False(IsQuick(durations, Request(rows: 100_000)));
        Assert.False(IsQuick(durations, Request(model: "other")));
        Assert.False(IsQuick(durations, Request(Operation.Evaluate)));
        Assert.False(IsQuick(durations, new MaasRequest { Id = 1, Operation = Operation.Sample, Model = "m", Count = 1 }));
    }

    [Fact]
    public void A_model_that_turns_slow_stops_being_quick_within_a_few_calls()
    {
        var durations = new CallDurations();
        Record(durations, Request(), Ticks(TimeSpan.FromMicroseconds(1)));
        Assert.True(IsQuick(durations, Request()));
        int calls = 0;
        while (IsQuick(durations, Request()))
        {
            Record(durations, Request(), Ticks(TimeSpan.FromMilliseconds(10)));
            Assert.True(++calls < 5, "still quick after 5 calls of 10 ms");
        }
    }

    [Fact]
    public void Streams_are_never_timed_as_quick()
    {
        var durations = new CallDurations();
        var sample = new MaasRequest { Id = 1, Operation = Operation.Sample, Model = "m", Count = 1 };
        Record(durations, sample, 1);
        Assert.False(IsQuick(durations, sample));
    }

    [Fact]
    public void Calls_are_timed_every_time_until_their_model_is_quick_then_one_in_eight()
    {
        var durations = new CallDurations();
        var series = durations.Of(Request())!;
        Assert.All(Enumerable.Range(0, 20), _ => Assert.True(series.ShouldTime(), "no history yet: every call is timed"));

        series.Add(Ticks(TimeSpan.FromMicroseconds(2)));
        int timed = Enumerable.Range(0, 80 * CallDurations.QuickTimingInterval).Count(_ => series.ShouldTime());
        Assert.Equal(80, timed);

        // Turned slow: the next timed call takes the average out of the quick range, and from then on every call is timed.
        series.Add(Ticks(TimeSpan.FromMilliseconds(10)));
        Assert.False(series.IsQuickFor(Request()));
        Assert.All(Enumerable.Range(0, 20), _ => Assert.True(series.ShouldTime(), "a model that is not quick has every call timed"));
    }

    /// <summary>A connection's remembered series is always the one the shared table holds for the request's model and operation.</summary>
    [Property(MaxTest = 100)]
    public Property The_series_a_connection_remembers_is_the_one_for_each_requests_model_and_operation() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.Elements("a", "b", "", "gaussian1d").Zip(Gen.Elements(Operation.LogDensity, Operation.Evaluate, Operation.Gradient, Operation.Sample))).ToArbitrary(),
            calls =>
            {
                var durations = new CallDurations();
                var recent = default(CallDurations.Recent);
                foreach (var (model, operation) in calls)
                {
                    var request = Request(operation, model: model);
                    var remembered = durations.Of(request, ref recent);
                    var looked = durations.Of(request);
                    if (!ReferenceEquals(remembered, looked) || (operation == Operation.Sample) != (looked is null))
                    {
                        return false;
                    }
                }

                return true;
            });

    [Property(MaxTest = 60)]
    public Property Every_frame_of_concurrent_senders_is_flushed_whoever_gives_up_waiting() =>
        Prop.ForAll(
            Gen.Choose(1, 40).SelectMany(n => Gen.ArrayOf(Gen.Elements(true, false, false, false), n)).ToArbitrary(),
            cancelled => Run(cancelled, flushBehindQueuedWork: false).GetAwaiter().GetResult());

    // Senders on thread-pool threads leave their flush to a queued work item: it still sends every frame.
    [Property(MaxTest = 60)]
    public Property Every_frame_is_flushed_when_flushes_are_queued_behind_the_pools_work() =>
        Prop.ForAll(
            Gen.Choose(1, 40).SelectMany(n => Gen.ArrayOf(Gen.Elements(true, false, false, false), n)).ToArbitrary(),
            cancelled => Run(cancelled, flushBehindQueuedWork: true).GetAwaiter().GetResult());

    [Fact]
    public void A_sender_outside_the_thread_pool_has_flushed_when_its_send_returns()
    {
        var output = new CountingWriter(new Pipe().Writer);
        using var channel = new FrameChannel(new Duplex(new Pipe().Reader, output), 1 << 20) { QueueFlushWhen = static () => true };
        bool? flushed = null;
        var thread = new Thread(() =>
        {
            channel.SendAsync(new CancelMessage { Id = 1 }).AsTask().GetAwaiter().GetResult();
            flushed = output.Flushes > 0;
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
        Assert.True(flushed);
    }

    private static async Task<bool> Run(bool[] cancelled, bool flushBehindQueuedWork)
    {
        var output = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        using var channel = new FrameChannel(new Duplex(new Pipe().Reader, output.Writer), 1 << 20) { QueueFlushWhen = flushBehindQueuedWork ? static () => true : null };
        using var gone = new CancellationTokenSource();
        await gone.CancelAsync();
        var sends = cancelled.Select((isCancelled, i) => Task.Run(async () =>
        {
            try
            {
                await channel.SendAsync(new CancelMessage { Id = (uint)i + 1 }, isCancelled ? gone.Token : CancellationToken.None);
                return i + 1;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
        })).ToArray();
        var sent = (await Task.WhenAll(sends)).Where(id => id != 0).Order().ToArray();

        // Everything sent must be readable now, with nobody left to flush it.
        var received = new List<uint>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (received.Count < sent.Length)
        {
            var result = await output.Reader.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            while (FrameCodec.TryReadLength(buffer, out uint length) && buffer.Length >= 4 + length)
            {
                received.Add(MessageCodec.Read(buffer.Slice(4, length)).Id);
                buffer = buffer.Slice(4 + length);
            }

            output.Reader.AdvanceTo(buffer.Start, buffer.End);
        }

        return received.Order().Select(id => (int)id).SequenceEqual(sent);
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>A pipe writer that counts its flushes.</summary>
    private sealed class CountingWriter(PipeWriter inner) : PipeWriter
    {
        private int _flushes;

        public int Flushes => Volatile.Read(ref _flushes);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _flushes);
            return inner.FlushAsync(cancellationToken);
        }
    }
}

/// <summary>End to end over a framed connection: quick calls inline or not, the answers are the same.</summary>
public sealed class InlineQuickCallTests
{
    [Fact]
    public async Task With_inlining_off_a_quick_model_that_turns_slow_still_runs_calls_side_by_side()
    {
        string uri = $"inproc://inline-{Guid.NewGuid():N}";
        var model = new TurningModel();
        var options = new MaasServerOptions { InlineQuickCalls = false };
        await using var server = new MaasServer(options);
        server.AddModel(model);
        await server.ListenAsync(uri);
        await using var client = await Client.MaasClient.ConnectAsync(uri);
        var remote = await client.GetModelAsync("turning");
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(2.0 * i, await remote.LogDensityAsync([(double)i]));
        }

        // Now every call waits for a second one to arrive: two calls on one connection must run side by side.
        model.TurnSlow();
        var both = await Task.WhenAll(remote.LogDensityAsync([1.0]).AsTask(), remote.LogDensityAsync([2.0]).AsTask());
        Assert.Equal([2.0, 4.0], both.Order().ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Quick_calls_give_the_same_answers_inline_or_queued(bool inline)
    {
        string uri = $"inproc://inline-{Guid.NewGuid():N}";
        await using var server = new MaasServer(new MaasServerOptions { InlineQuickCalls = inline });
        server.AddModel(new TurningModel());
        await server.ListenAsync(uri);
        await using var client = await Client.MaasClient.ConnectAsync(uri);
        var remote = await client.GetModelAsync("turning");
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => remote.LogDensityAsync([(double)i]).AsTask()));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => 2.0 * i), answers);
    }

    /// <summary>log p(x) = 2x, answered at once until <see cref="TurnSlow"/>; then each call waits at a barrier of two.</summary>
    private sealed class TurningModel : ModelBase
    {
        private readonly Barrier _pair = new(2);
        private volatile bool _slow;

        public override ModelInfo Info { get; } = new()
        {
            Name = "turning",
            Uuid = new Guid("5e1d0b6e-0000-4000-8000-0000000000a1"),
            InputDimension = 1,
            Capabilities = ModelCapabilities.LogDensity,
        };

        public void TurnSlow() => _slow = true;

        public override ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
        {
            if (_slow && !_pair.SignalAndWait(TimeSpan.FromSeconds(30), cancellationToken))
            {
                throw new TimeoutException("the second call never ran beside this one");
            }

            var y = DoubleMatrix.Rent(x.Rows, 1);
            for (int i = 0; i < x.Rows; i++)
            {
                y.Span[i] = 2 * x.Span[i];
            }

            return ValueTask.FromResult(y);
        }
    }
}
