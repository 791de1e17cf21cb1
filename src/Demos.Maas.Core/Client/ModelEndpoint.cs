namespace Demos.Maas.Client;

/// <summary>One address of a <see cref="MultiEndpointModel"/>: its connection, calls outstanding, and health.</summary>
internal sealed class ModelEndpoint(Uri uri, string model, MaasClientOptions options) : IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _connect = new(1, 1);
    private MaasClient? _client;
    private RemoteModel? _model;
    private int _outstanding;
    private long _downUntil;
    private int _failures;

    public Uri Uri { get; } = uri;

    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>False after a failure, until its backoff has passed (then one call probes it).</summary>
    public bool IsHealthy => Environment.TickCount64 >= Volatile.Read(ref _downUntil);

    public long DownUntil => Volatile.Read(ref _downUntil);

    public void Enter() => Interlocked.Increment(ref _outstanding);

    public void Leave() => Interlocked.Decrement(ref _outstanding);

    /// <summary>The model proxy, connecting on first use.</summary>
    /// <exception cref="MaasException">Unavailable when the endpoint cannot be reached.</exception>
    public async ValueTask<RemoteModel> ModelAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _model) is { } ready)
        {
            return ready;
        }

        await _connect.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_model is null)
            {
                var client = await MaasClient.ConnectAsync(Uri, options, cancellationToken).ConfigureAwait(false);
                try
                {
                    _model = await client.GetModelAsync(model, cancellationToken).ConfigureAwait(false);
                    _client = client;
                }
                catch
                {
                    await client.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            }

            return _model;
        }
        finally
        {
            _connect.Release();
        }
    }

    public void Succeeded() => Volatile.Write(ref _failures, 0);

    /// <summary>Takes the endpoint out of rotation for a backoff that doubles with each failure in a row.</summary>
    public void Failed()
    {
        int failures = Interlocked.Increment(ref _failures);
        long backoff = Math.Min(FirstBackoff.Ticks << Math.Min(failures - 1, 16), MaxBackoff.Ticks) / TimeSpan.TicksPerMillisecond;
        Volatile.Write(ref _downUntil, Environment.TickCount64 + backoff);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is { } client)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        _connect.Dispose();
    }
}
