using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Demos.Maas.Tests;
using Demos.Maas.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace Demos.Maas.Transports.Shm.Tests;

public sealed class ShmTransportTests
{
    private static string SocketPath() => Path.Combine(Path.GetTempPath(), $"maas-shm-{Guid.NewGuid():N}.sock");

    /// <summary>
    /// A ring folder of the test's own under /dev/shm: other test classes run in parallel in this
    /// process and their rings exist for a moment, so a test that counts ring files counts its own.
    /// </summary>
    internal static string NewRingDirectory()
    {
        string directory = Path.Combine("/dev/shm", $"maas-test-rings-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    internal static string[] RingFiles(string directory) => Directory.GetFiles(directory, "maas-ring-*.shm");

    internal static MaasClientOptions Options(ShmTransport? transport = null)
    {
        var options = new MaasClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10) };
        options.Transports.Add(transport ?? new ShmTransport());
        return options;
    }

    [Fact]
    public async Task Connecting_without_a_server_gives_Unavailable_and_asks_whether_the_server_runs()
    {
        string path = SocketPath();
        var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync($"shm://{path}", Options()));
        Assert.Equal(MaasErrorCode.Unavailable, error.Code);
        Assert.StartsWith($"No shm:// server at shm://{path}: there is no socket {path}; is the server running?", error.Message);

        var named = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync($"shm://nobody-{Guid.NewGuid():N}", Options()));
        Assert.Equal(MaasErrorCode.Unavailable, named.Code);
        Assert.Contains("/dev/shm/maas-nobody-", named.Message);
    }

    [Fact]
    public async Task A_socket_file_nobody_listens_on_says_the_server_stopped()
    {
        string path = SocketPath();
        await File.WriteAllTextAsync(path, "");
        try
        {
            var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync($"shm://{path}", Options()));
            Assert.Equal(MaasErrorCode.Unavailable, error.Code);
            Assert.Contains($"nothing listens on the socket {path}", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("shm://bad!name")] // not even a URI
    [InlineData("shm://name/with/path")]
    [InlineData("shm://name/?ring=4096")]
    [InlineData("shm:///tmp/")]
    [InlineData("shm://name:5000")]
    public async Task Bad_uris_give_InvalidArgument_naming_the_uri(string uri)
    {
        var error = await Assert.ThrowsAsync<MaasException>(() => MaasClient.ConnectAsync(uri, Options()));
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
        Assert.Contains(uri, error.Message);

        await using var server = new MaasServer(transports: [new ShmTransport()]);
        var bind = await Assert.ThrowsAsync<MaasException>(() => server.ListenAsync(uri));
        Assert.Equal(MaasErrorCode.InvalidArgument, bind.Code);
    }

    [Fact]
    public void Bad_ring_sizes_give_InvalidArgument()
    {
        foreach (int size in new[] { 0, 1000, 2048, 3 << 20 })
        {
            var error = Assert.Throws<MaasException>(() => new ShmTransport(new ShmTransportOptions { RingSize = size }));
            Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
            Assert.Contains(size.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
        }
    }

    [Fact]
    public void Names_and_paths_map_to_rendezvous_sockets()
    {
        Assert.Equal("/dev/shm/maas-gauss.sock", ShmTransport.SocketPathOf(new Uri("shm://gauss")));
        Assert.Equal("/tmp/m.sock", ShmTransport.SocketPathOf(new Uri("shm:///tmp/m.sock")));
    }

    [Fact]
    public async Task A_named_server_is_reached_and_its_ring_files_are_removed_once_mapped_and_the_socket_on_stop()
    {
        string name = $"test-{Guid.NewGuid():N}";
        string rings = NewRingDirectory();
        await using var server = new MaasServer(transports: [new ShmTransport(new ShmTransportOptions { RingDirectory = rings })]);
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync($"shm://{name}");
        Assert.True(File.Exists($"/dev/shm/maas-{name}.sock"));

        var clients = new List<MaasClient>();
        for (int i = 0; i < 4; i++)
        {
            clients.Add(await MaasClient.ConnectAsync($"shm://{name}", Options()));
        }

        foreach (var client in clients)
        {
            var model = await client.GetModelAsync("gaussian1d");
            Assert.Equal(1, (await model.LogDensityAsync(DoubleMatrix.FromRows([[0.0]]))).Rows);
        }

        // Connected, yet no file is left: both sides mapped it, so it was unlinked.
        Assert.Empty(RingFiles(rings));
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        await server.StopAsync(CancellationToken.None);
        Assert.False(File.Exists($"/dev/shm/maas-{name}.sock"));
        Assert.Empty(RingFiles(rings));
        Directory.Delete(rings);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Callers_resume_on_the_receiving_thread_and_may_call_again_there(bool inline)
    {
        string uri = $"shm://{SocketPath()}";
        await using var server = new MaasServer(transports: [new ShmTransport()]);
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);
        var options = Options();
        options.InlineCompletions = inline;
        await using var client = await MaasClient.ConnectAsync(uri, options);
        var model = await client.GetModelAsync("gaussian1d");

        // Sequential callers and concurrent ones; each continuation makes its next call from where it resumed.
        int onReceiver = 0;
        async Task CallerAsync(int caller, int calls, bool untilResumedThere = false)
        {
            for (int i = 0; i < calls && !(untilResumedThere && Volatile.Read(ref onReceiver) > 0); i++)
            {
                double x = caller + (i * 0.01);
                using var y = await model.LogDensityAsync(DoubleMatrix.FromColumn(x));
                if (Thread.CurrentThread.Name == "maas shm receive")
                {
                    Interlocked.Increment(ref onReceiver);
                }

                Assert.Equal(GaussianModel.LogDensityOf([x], [0.0], [1.0]), y.Span[0], 12);
            }
        }

        // On thread-pool threads: the test framework's synchronization context would take the continuations.
        // Inline, on the read loop; otherwise once the read loop waits again, while the other thread
        // of the connection receives. An answer can beat the caller to its await (then it goes on
        // where it was), and while the thread pool has work waiting the caller queues behind it: the
        // sequential caller goes on until it resumed there once.
        await Task.Run(() => CallerAsync(0, calls: 3000, untilResumedThere: true)).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(onReceiver > 0, "no caller resumed on the receiving thread in 3000 calls");
        await Task.WhenAll(Enumerable.Range(1, 8).Select(c => Task.Run(() => CallerAsync(c, calls: 50)))).WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Many_concurrent_callers_on_many_connections_each_get_their_own_answer()
    {
        string uri = $"shm://{SocketPath()}";
        await using var server = new MaasServer(transports: [new ShmTransport(new ShmTransportOptions { RingSize = 16384 })]);
        server.AddModel(GaussianModel.Create(1));
        await server.ListenAsync(uri);
        var reference = GaussianModel.Create(1);

        var clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => MaasClient.ConnectAsync(uri, Options())));
        try
        {
            var calls = clients.SelectMany((client, c) => Enumerable.Range(0, 64).Select(async i =>
            {
                var model = await client.GetModelAsync("gaussian1d");
                // Sizes from one point to well past the 16 KiB ring.
                int rows = 1 + ((c * 64 + i) * 37 % 5000);
                var x = DoubleMatrix.Rent(rows, 1);
                for (int r = 0; r < rows; r++)
                {
                    x[r, 0] = c + (i * 0.001) + (r * 1e-6);
                }

                var got = await model.LogDensityAsync(x);
                var want = await reference.LogDensityAsync(x);
                Assert.Equal(want.Span.ToArray(), got.Span.ToArray());
            }));
            await Task.WhenAll(calls);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Dependency_injection_wires_server_client_and_transport()
    {
        string uri = $"shm://{SocketPath()}";
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddShmTransport(o => o.RingSize = 1 << 16);
        services.AddMaasServer(o => o.Listen.Add(uri)).AddModel(GaussianModel.Create(1)).AddModel(_ => DecayModel.Create());
        services.AddMaasClient(o => o.Uri = uri);
        await using var provider = services.BuildServiceProvider();
        var transport = Assert.IsType<ShmTransport>(Assert.Single(provider.GetServices<IMaasTransport>(), t => t is ShmTransport));
        Assert.Equal(1 << 16, transport.Options.RingSize);
        foreach (var hosted in provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        await using var client = await provider.GetRequiredService<MaasClientFactory>().ConnectAsync();
        Assert.Equal(["decay", "gaussian1d"], (await client.ListModelsAsync()).Select(m => m.Name).Order().ToArray());
        await provider.GetRequiredService<MaasServer>().StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_call_is_counted_in_the_servers_metrics_after_its_answer_and_every_call_once()
    {
        // The server writes a call's answer before it records the call; the client may see the
        // answer first, so the count is awaited, and then must not grow past the calls made.
        string name = $"counted-{Guid.NewGuid():N}";
        long calls = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // By name: touching MaasTelemetry here would create its instruments inside this callback.
            if (instrument.Meter.Name == Middleware.MaasTelemetry.Name && instrument.Name == "maas.calls")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            bool server = false, mine = false;
            foreach (var tag in tags)
            {
                server |= tag.Key == "maas.side" && tag.Value as string == "server";
                mine |= tag.Key == "maas.model" && tag.Value as string == name;
            }

            if (server && mine)
            {
                Interlocked.Add(ref calls, value);
            }
        });
        listener.Start();

        string uri = $"shm://{SocketPath()}";
        await using var server = new MaasServer(transports: [new ShmTransport()]);
        server.AddModel(ModelBuilder.Create(name).WithInputDimension(1).WithLogDensity((x, _) => -x[0] * x[0]).Build());
        await server.ListenAsync(uri);
        await using var client = await MaasClient.ConnectAsync(uri, Options());
        var model = await client.GetModelAsync(name);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(-(i * i), await model.LogDensityAsync([(double)i]));
        }

        // 51: the model's info and 50 log-densities.
        Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref calls) >= 51, TimeSpan.FromSeconds(30)), $"counted {Interlocked.Read(ref calls)} of 51 calls");
        await client.DisposeAsync();
        await server.DisposeAsync();
        Assert.Equal(51, Interlocked.Read(ref calls));
    }
}

/// <summary>The rendezvous connect meeting a full accept queue (EAGAIN on a Unix domain socket).</summary>
public sealed class ShmConnectBacklogTests
{
    [Fact]
    public Task A_connect_waits_on_a_full_accept_queue_until_cancelled_instead_of_failing_at_once() =>
        FullUnixListener.AssertConnectWaitsUntilCancelledAsync((path, ct) => new ShmTransport().ConnectAsync(new Uri($"shm://{path}"), ct).AsTask());
}
