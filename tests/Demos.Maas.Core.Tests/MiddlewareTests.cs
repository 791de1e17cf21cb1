using System.Diagnostics;
using System.Diagnostics.Metrics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Demos.Maas.Client;
using Demos.Maas.Middleware;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Core.Tests;

public sealed class MiddlewareTests
{
    private static Gen<double[]> Points { get; } = Gen.Choose(1, 20).SelectMany(n => Gen.ArrayOf(Gen.Choose(-5000, 5000).Select(i => i / 1000.0), n));

    [Property(MaxTest = 60)]
    public Property Cached_and_uncached_results_are_equal() =>
        Prop.ForAll(Gen.ListOf(Gen.Zip(Points, Gen.Elements(0, 1, 2)), 12).Select(l => l.ToList()).ToArbitrary(), calls =>
        {
            return RunAsync().GetAwaiter().GetResult();

            async Task<bool> RunAsync()
            {
                var cached = new CountingModel("cached");
                await using var h = await MiddlewareHarness.StartAsync([cached.Model, GaussianModel.Create(2)],
                    s => s.Cache = new ResultCacheOptions { AllModels = true },
                    c => c.Cache = new ResultCacheOptions { AllModels = true });
                var remote = await h.Client.GetModelAsync("cached");
                var gauss = await h.Client.GetModelAsync("gaussian2d");
                var local = GaussianModel.Create(2);
                foreach (var (points, kind) in calls)
                {
                    using var x = DoubleMatrix.FromColumn(points);
                    using var y = kind == 2 ? await remote.EvaluateAsync(x) : await remote.LogDensityAsync(x);
                    for (int i = 0; i < points.Length; i++)
                    {
                        double expected = kind == 2 ? 2 * points[i] : CountingModel.LogDensity(points[i], 0);
                        if (y[i, 0] != expected)
                        {
                            return false;
                        }
                    }

                    if (points.Length % 2 == 0)
                    {
                        using var x2 = DoubleMatrix.CopyOf(points, points.Length / 2, 2);
                        using var a = await gauss.GradientAsync(GradientKind.LogDensityWrtTheta, x2, theta: new double[] { 0.5, -0.5, 2, 3 });
                        using var b = await local.GradientAsync(GradientKind.LogDensityWrtTheta, x2, theta: new double[] { 0.5, -0.5, 2, 3 });
                        if (!a.Span.SequenceEqual(b.Span))
                        {
                            return false;
                        }
                    }
                }

                return true;
            }
        });

    [Property(MaxTest = 40)]
    public Property After_a_parameter_update_no_stale_entry_is_served() =>
        Prop.ForAll(Gen.ListOf(Gen.OneOf(Points.Select(p => (Points: p, Mu: (double?)null)), Gen.Choose(-3, 3).Select(m => (Points: Array.Empty<double>(), Mu: (double?)m))), 15).Select(l => l.ToList()).ToArbitrary(), steps =>
        {
            return RunAsync().GetAwaiter().GetResult();

            async Task<bool> RunAsync()
            {
                var model = new CountingModel("params");
                await using var h = await MiddlewareHarness.StartAsync([model.Model],
                    s => s.Cache = new ResultCacheOptions { AllModels = true },
                    c => c.Cache = new ResultCacheOptions { AllModels = true });

                // A second client changes the parameters behind the first one's back half of the time.
                var other = await MaasClient.ConnectAsync(h.Client.Uri);
                await using var _ = other;
                var remote = await h.Client.GetModelAsync("params");
                var otherRemote = await other.GetModelAsync("params");
                double mu = 0;
                int step = 0;
                foreach (var (points, update) in steps)
                {
                    if (update is { } newMu)
                    {
                        var through = step++ % 2 == 0 ? remote : otherRemote;
                        var set = await through.UpdateParametersAsync(ParameterUpdate.Of("mu", newMu));
                        mu = newMu;
                        await WaitForVersionAsync(remote, set.Version);
                        continue;
                    }

                    using var x = DoubleMatrix.FromColumn(points);
                    using var y = await remote.LogDensityAsync(x);
                    for (int i = 0; i < points.Length; i++)
                    {
                        if (y[i, 0] != CountingModel.LogDensity(points[i], mu))
                        {
                            return false;
                        }
                    }
                }

                return true;
            }
        });

    [Fact]
    public async Task A_cache_hit_saves_the_round_trip_and_the_model_call()
    {
        var model = new CountingModel("hits");
        await using var h = await MiddlewareHarness.StartAsync([model.Model],
            s => s.Cache = new ResultCacheOptions { Models = { "hits" } },
            c => c.Cache = new ResultCacheOptions { Models = { "hits" } });
        var remote = await h.Client.GetModelAsync("hits");
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(CountingModel.LogDensity(1.5, 0), await remote.LogDensityAsync([1.5]));
        }

        Assert.Equal(1, model.LogDensityCalls);
        Assert.Equal(1, h.Client.Cache!.Count);

        // A second client misses its own cache but hits the server's.
        await using var second = await MaasClient.ConnectAsync(h.Client.Uri);
        Assert.Equal(CountingModel.LogDensity(1.5, 0), await (await second.GetModelAsync("hits")).LogDensityAsync([1.5]));
        Assert.Equal(1, model.LogDensityCalls);

        // Bypass per call.
        var bypass = remote.WithOptions(new CallOptions { Cache = CacheMode.Bypass });
        await bypass.LogDensityAsync([1.5]);
        Assert.Equal(2, model.LogDensityCalls);
    }

    [Fact]
    public async Task Samples_are_cached_only_with_a_seed()
    {
        var model = new CountingModel("sampler");
        await using var h = await MiddlewareHarness.StartAsync([model.Model], s => s.Cache = new ResultCacheOptions { AllModels = true });
        var remote = await h.Client.GetModelAsync("sampler");
        using var a = await remote.SampleMatrixAsync(100, seed: 5);
        using var b = await remote.SampleMatrixAsync(100, seed: 5);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.Equal(1, h.Server.Cache!.Count);
        using var c = await remote.SampleMatrixAsync(100);
        using var d = await remote.SampleMatrixAsync(100);
        Assert.NotEqual(c.ToArray(), d.ToArray());
        Assert.Equal(1, h.Server.Cache.Count);
    }

    [Property(MaxTest = 30)]
    public Property Batched_and_unbatched_results_are_equal_row_for_row_whatever_the_interleaving() =>
        Prop.ForAll(Gen.ListOf(Gen.Zip(Points, Gen.Choose(0, 3)), 40).Select(l => l.ToList()).ToArbitrary(), callers =>
        {
            return RunAsync().GetAwaiter().GetResult();

            async Task<bool> RunAsync()
            {
                var model = new CountingModel("batched");
                await using var h = await MiddlewareHarness.StartAsync([model.Model],
                    s => s.Batching = new BatchingOptions { MaxBatchRows = 16, MaxQueueDelay = TimeSpan.FromMilliseconds(2) },
                    c => c.Coalescing = new BatchingOptions { MaxBatchRows = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(1) });
                var remote = await h.Client.GetModelAsync("batched");
                var results = await Task.WhenAll(callers.Select(async c =>
                {
                    await Task.Delay(c.Item2);
                    using var x = DoubleMatrix.FromColumn(c.Item1);
                    using var y = await remote.LogDensityAsync(x);
                    return (c.Item1, y.ToArray());
                }));
                return results.All(r => r.Item1.Select(p => CountingModel.LogDensity(p, 0)).SequenceEqual(r.Item2));
            }
        });

    [Fact]
    public async Task Sixty_four_callers_with_max_batch_32_make_at_most_two_plus_timer_flushes_model_calls()
    {
        var model = new CountingModel("sixtyfour");
        await using var h = await MiddlewareHarness.StartAsync([model.Model],
            s => s.Batching = new BatchingOptions { MaxBatchRows = 32, MaxQueueDelay = TimeSpan.FromMilliseconds(50) });
        var remote = await h.Client.GetModelAsync("sixtyfour");
        var start = new TaskCompletionSource();
        var callers = Enumerable.Range(0, 64).Select(async i =>
        {
            await start.Task;
            return (i, await remote.LogDensityAsync([i / 8.0]));
        }).ToArray();
        start.SetResult();
        foreach (var (i, logp) in await Task.WhenAll(callers))
        {
            Assert.Equal(CountingModel.LogDensity(i / 8.0, 0), logp);
        }

        var batcher = h.Server.Batcher!;
        Assert.True(model.LogDensityCalls <= 2 + batcher.TimerFlushes, $"{model.LogDensityCalls} model calls, {batcher.TimerFlushes} timer flushes");
        Assert.Equal(batcher.ModelCalls, model.LogDensityCalls);
        Assert.Equal(64, batcher.MergedRequests);
    }

    [Fact]
    public async Task Client_coalescing_merges_single_point_calls_into_batched_requests()
    {
        var model = new CountingModel("coalesced");
        await using var h = await MiddlewareHarness.StartAsync([model.Model],
            client: c => c.Coalescing = new BatchingOptions { MaxBatchRows = 32, MaxQueueDelay = TimeSpan.FromMilliseconds(50) });
        var remote = await h.Client.GetModelAsync("coalesced");
        var start = new TaskCompletionSource();
        var callers = Enumerable.Range(0, 64).Select(async i =>
        {
            await start.Task;
            return (i, await remote.LogDensityAsync([i / 4.0]));
        }).ToArray();
        start.SetResult();
        foreach (var (i, logp) in await Task.WhenAll(callers))
        {
            Assert.Equal(CountingModel.LogDensity(i / 4.0, 0), logp);
        }

        var coalescer = h.Client.Coalescer!;
        Assert.True(model.LogDensityCalls <= 2 + coalescer.TimerFlushes, $"{model.LogDensityCalls} model calls, {coalescer.TimerFlushes} timer flushes");
    }

    [Fact]
    public async Task A_poisoned_batch_fails_only_the_request_that_poisoned_it()
    {
        await using var h = await MiddlewareHarness.StartAsync([Demos.Maas.Tests.TestModels.Faulty()],
            s => s.Batching = new BatchingOptions { MaxBatchRows = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(50) });
        var faulty = await h.Client.GetModelAsync("faulty");
        var calls = Enumerable.Range(0, 8).Select(i => faulty.LogDensityAsync([i == 3 ? -1.0 : i]).AsTask()).ToArray();
        for (int i = 0; i < calls.Length; i++)
        {
            if (i == 3)
            {
                var error = await Assert.ThrowsAsync<MaasException>(() => calls[i]);
                Assert.Equal(MaasErrorCode.ModelError, error.Code);
            }
            else
            {
                Assert.Equal(i, await calls[i]);
            }
        }
    }

    [Fact]
    public async Task Workers_run_a_non_thread_safe_model_one_call_per_instance()
    {
        var instances = new List<CountingModel>();
        await using var h = await MiddlewareHarness.StartAsync([]);
        h.Server.AddModel(() =>
        {
            var m = new CountingModel("unsafe", spinMicroseconds: 200);
            lock (instances)
            {
                instances.Add(m);
            }

            return m.Model;
        }, workers: 3);
        var remote = await h.Client.GetModelAsync("unsafe");
        await Task.WhenAll(Enumerable.Range(0, 60).Select(async i => Assert.Equal(CountingModel.LogDensity(i, 0), await remote.LogDensityAsync([(double)i]))));
        Assert.Equal(3, instances.Count);
        Assert.All(instances, m => Assert.True(m.MaxConcurrent <= 1));
        Assert.Equal(60, instances.Sum(m => m.LogDensityCalls));

        var set = await remote.UpdateParametersAsync(ParameterUpdate.Of("mu", 2));
        Assert.Equal([2.0], set["mu"]);
        Assert.All(instances, m => Assert.Equal(1, m.Updates));
        await Task.WhenAll(Enumerable.Range(0, 12).Select(async i => Assert.Equal(CountingModel.LogDensity(i, 2), await remote.LogDensityAsync([(double)i]))));
    }

    [Fact]
    public async Task Retries_survive_dropped_connections_and_an_update_is_applied_exactly_once()
    {
        // Connections 1-3 lose the server's 3rd frame (the 2nd answer after Welcome and Info).
        var flaky = new FlakyTransport((connection, flush) => connection <= 3 && flush == 3);
        var model = new CountingModel("flaky");
        await using var h = await MiddlewareHarness.StartAsync([model.Model], transport: flaky,
            client: c => c.Retry = new RetryOptions { MaxAttempts = 6, InitialBackoff = TimeSpan.FromMilliseconds(1) });
        var remote = await h.Client.GetModelAsync("flaky");
        var set = await remote.UpdateParametersAsync(ParameterUpdate.Of("mu", 1.25));
        Assert.Equal([1.25], set["mu"]);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(CountingModel.LogDensity(i, 1.25), await remote.LogDensityAsync([(double)i]));
        }

        Assert.True(flaky.Drops >= 1, "the schedule dropped nothing");
        Assert.True(h.Client.Connections >= 2, "the client never reconnected");
        Assert.Equal(1, model.Updates);
    }

    [Fact]
    public async Task Without_retries_a_dropped_connection_is_Unavailable()
    {
        var flaky = new FlakyTransport((connection, flush) => connection == 1 && flush == 3);
        var model = new CountingModel("noretry");
        await using var h = await MiddlewareHarness.StartAsync([model.Model], transport: flaky, client: c => c.Retry = null);
        var remote = await h.Client.GetModelAsync("noretry");
        var error = await Assert.ThrowsAsync<MaasException>(async () => await remote.LogDensityAsync([1.0]));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.Equal(CountingModel.LogDensity(1, 0), await remote.LogDensityAsync([1.0]));
    }

    [Fact]
    public async Task The_deadline_covers_all_attempts()
    {
        var blocking = new Demos.Maas.Tests.BlockingModel();
        await using var h = await MiddlewareHarness.StartAsync([blocking]);
        var remote = (await h.Client.GetModelAsync("blocking")).WithTimeout(TimeSpan.FromMilliseconds(150));
        var error = await Assert.ThrowsAsync<MaasException>(async () => await remote.LogDensityAsync([1.0]));
        Assert.Equal(MaasErrorCode.DeadlineExceeded, error.Code);
        await blocking.Cancelled.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Metrics_count_the_calls_cache_hits_batches_and_errors_this_test_caused()
    {
        string name = $"metered-{Guid.NewGuid():N}";
        var counts = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MaasTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? model = null, side = null, outcome = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "maas.model": model = tag.Value as string; break;
                    case "maas.side": side = tag.Value as string; break;
                    case "maas.outcome": outcome = tag.Value as string; break;
                    case "maas.error_code": outcome = tag.Value as string; break;
                }
            }

            if (model == name)
            {
                lock (counts)
                {
                    string key = $"{instrument.Name}/{side}/{outcome}";
                    counts[key] = counts.GetValueOrDefault(key) + value;
                }
            }
        }

        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, 1, tags));
        listener.Start();

        var model = new CountingModel(name);
        await using (var h = await MiddlewareHarness.StartAsync([model.Model], s =>
        {
            s.Cache = new ResultCacheOptions { AllModels = true };
            // Only the size can flush: the four calls always make exactly one batch.
            s.Batching = new BatchingOptions { MaxBatchRows = 4, MaxQueueDelay = TimeSpan.FromMinutes(5) };
        }))
        {
            var remote = await h.Client.GetModelAsync(name);
            await Task.WhenAll(Enumerable.Range(0, 4).Select(i => remote.LogDensityAsync([(double)i]).AsTask()));
            await remote.LogDensityAsync([0.0]);
            using var wrong = DoubleMatrix.Zeros(65, 2); // wider than the model and too big to be batched
            await Assert.ThrowsAsync<MaasException>(async () => await remote.LogDensityAsync(wrong));
        }

        listener.RecordObservableInstruments();
        lock (counts)
        {
            // Info (from GetModelAsync), four batched calls and one cache hit.
            Assert.Equal(6, counts.GetValueOrDefault("maas.calls/server/Ok"));
            Assert.Equal(1, counts.GetValueOrDefault("maas.calls/server/InvalidArgument"));
            Assert.Equal(1, counts.GetValueOrDefault("maas.errors/server/InvalidArgument"));
            Assert.Equal(6, counts.GetValueOrDefault("maas.calls/client/Ok"));
            Assert.Equal(1, counts.GetValueOrDefault("maas.cache.hits/server/"));
            Assert.Equal(5, counts.GetValueOrDefault("maas.cache.misses/server/")); // the four batched calls and the invalid one
            Assert.Equal(7, counts.GetValueOrDefault("maas.call.duration/server/Ok") + counts.GetValueOrDefault("maas.call.duration/server/InvalidArgument"));
            Assert.Equal(4, counts.GetValueOrDefault("maas.batch.calls/server/")); // one batch of four callers
            Assert.Equal(4, counts.GetValueOrDefault("maas.batch.rows/server/"));
        }
    }

    [Fact]
    public async Task Spans_of_client_and_server_share_one_trace_and_usage_lines_are_logged()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == MaasTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) { spans.Add(a); } },
        };
        ActivitySource.AddActivityListener(listener);
        var lines = new List<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(lines)).SetMinimumLevel(LogLevel.Information));
        string name = $"traced-{Guid.NewGuid():N}";
        var model = new CountingModel(name);
        await using (var h = await MiddlewareHarness.StartAsync([model.Model], client: c => { c.UsageLog = true; c.LoggerFactory = loggerFactory; }))
        {
            var remote = await h.Client.GetModelAsync(name);
            using var x = DoubleMatrix.FromColumn(1, 2, 3);
            using var _ = await remote.LogDensityAsync(x);
        }

        lock (spans)
        {
            var client = spans.Single(s => s.Kind == ActivityKind.Client && s.OperationName == "maas.client LogDensity" && (string?)s.GetTagItem("maas.model") != null && s.GetTagItem("maas.outcome") as string == "Ok" && s.GetTagItem("maas.points") is 3L);
            var server = spans.Single(s => s.Kind == ActivityKind.Server && s.ParentSpanId == client.SpanId);
            Assert.Equal(client.TraceId, server.TraceId);
        }

        lock (lines)
        {
            Assert.Contains(lines, l => l.Contains($"model={name}") && l.Contains("operation=LogDensity") && l.Contains("points=3") && l.Contains("outcome=Ok"));
        }
    }

    [Fact]
    public void A_cache_hit_copies_into_a_caller_buffer_without_allocating()
    {
        using var cache = new ResultCache(new ResultCacheOptions { AllModels = true });
        var model = GaussianModel.Create(1);
        using var x = DoubleMatrix.FromPoint(0.5);
        var request = new MaasRequest { Operation = Operation.LogDensity, Model = "gaussian1d", X = x };
        using var y = DoubleMatrix.FromPoint(-1.0439385332046727);
        cache.Store(model, request, cache.ParameterVersionOf(model), y);
        Span<double> destination = stackalloc double[4];
        Assert.True(cache.TryCopy(model, request, destination, out _, out _));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            cache.TryCopy(model, request, destination, out _, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(-1.0439385332046727, destination[0]);
    }

    private static async Task WaitForVersionAsync(RemoteModel model, long version)
    {
        // The notification travels on its own; wait (bounded) until this client has seen it.
        var watch = Stopwatch.StartNew();
        while (model.ParameterVersion < version && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(1);
        }

        Assert.True(model.ParameterVersion >= version, $"client saw version {model.ParameterVersion}, expected {version}");
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines)
                {
                    lines.Add(formatter(state, exception));
                }
            }
        }
    }
}
