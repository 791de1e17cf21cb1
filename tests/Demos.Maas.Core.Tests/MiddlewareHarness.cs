using Demos.Maas.Client;
using Demos.Maas.Server;

namespace Demos.Maas.Core.Tests;

/// <summary>A server and a client joined over inproc with the given middleware settings.</summary>
internal sealed class MiddlewareHarness : IAsyncDisposable
{
    private MiddlewareHarness(MaasServer server, MaasClient client)
    {
        Server = server;
        Client = client;
    }

    public MaasServer Server { get; }

    public MaasClient Client { get; }

    public static async Task<MiddlewareHarness> StartAsync(IEnumerable<IModel> models, Action<MaasServerOptions>? server = null, Action<MaasClientOptions>? client = null, Demos.Maas.Transport.IMaasTransport? transport = null)
    {
        var serverOptions = new MaasServerOptions();
        server?.Invoke(serverOptions);
        var maas = new MaasServer(serverOptions, transport is null ? null : [transport]);
        foreach (var model in models)
        {
            maas.AddModel(model);
        }

        string scheme = transport is FlakyTransport ? "flaky" : "inproc";
        var uri = await maas.ListenAsync($"{scheme}://mw-{Guid.NewGuid():N}");
        var clientOptions = new MaasClientOptions();
        if (transport is not null)
        {
            clientOptions.Transports.Add(transport);
        }

        client?.Invoke(clientOptions);
        return new MiddlewareHarness(maas, await MaasClient.ConnectAsync(uri, clientOptions));
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>A 1-D model that counts its calls: log p(x) = -(x - mu)^2 / 2, Evaluate y = 2x + mu.</summary>
internal sealed class CountingModel
{
    private int _logDensityCalls;
    private int _updates;
    private int _concurrent;
    private int _maxConcurrent;

    public CountingModel(string name, bool serial = false, int spinMicroseconds = 0)
    {
        var builder = ModelBuilder.Create(name)
            .WithInputDimension(1)
            .WithScalarParameter("mu", 0.0)
            .WithLogDensity((a, result) =>
            {
                int now = Interlocked.Increment(ref _concurrent);
                InterlockedMax(ref _maxConcurrent, now);
                Interlocked.Increment(ref _logDensityCalls);
                if (spinMicroseconds > 0)
                {
                    Thread.SpinWait(spinMicroseconds * 50);
                }

                for (int i = 0; i < a.Rows; i++)
                {
                    double r = a.X[i] - a.Theta[0];
                    result[i] = -0.5 * r * r;
                }

                Interlocked.Decrement(ref _concurrent);
            })
            .WithEvaluate(1, (a, result) =>
            {
                for (int i = 0; i < a.Rows; i++)
                {
                    result[i] = (2 * a.X[i]) + a.Theta[0];
                }
            })
            .WithSampler((a, result) =>
            {
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = a.Theta[0] + a.Random.NextDouble();
                }
            });
        if (serial)
        {
            builder.Serial();
        }

        Model = new UpdateCounter(builder.Build(), () => Interlocked.Increment(ref _updates));
    }

    public IModel Model { get; }

    public int LogDensityCalls => Volatile.Read(ref _logDensityCalls);

    public int Updates => Volatile.Read(ref _updates);

    public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);

    public static double LogDensity(double x, double mu) => -0.5 * (x - mu) * (x - mu);

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Passes everything through and counts parameter updates that reach the model.</summary>
    private sealed class UpdateCounter(IModel inner, Action onUpdate) : IModel, IVersionedParameters
    {
        public ModelInfo Info => inner.Info;

        public long ParameterVersion => ((IVersionedParameters)inner).ParameterVersion;

        public ValueTask<DoubleMatrix> EvaluateAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) => inner.EvaluateAsync(x, theta, cancellationToken);

        public ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) => inner.LogDensityAsync(x, theta, cancellationToken);

        public IAsyncEnumerable<DoubleMatrix> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default) => inner.SampleAsync(request, cancellationToken);

        public ValueTask<DoubleMatrix> GradientAsync(GradientKind kind, DoubleMatrix x, DoubleMatrix? vector = null, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default) => inner.GradientAsync(kind, x, vector, theta, cancellationToken);

        public ValueTask<IReadOnlyList<DatasetInfo>> ListDatasetsAsync(CancellationToken cancellationToken = default) => inner.ListDatasetsAsync(cancellationToken);

        public IAsyncEnumerable<DoubleMatrix> ReadDatasetAsync(DataRequest request, CancellationToken cancellationToken = default) => inner.ReadDatasetAsync(request, cancellationToken);

        public ValueTask<ParameterSet> GetParametersAsync(CancellationToken cancellationToken = default) => inner.GetParametersAsync(cancellationToken);

        public ValueTask<ParameterSet> UpdateParametersAsync(ParameterUpdate update, CancellationToken cancellationToken = default)
        {
            onUpdate();
            return inner.UpdateParametersAsync(update, cancellationToken);
        }
    }
}
