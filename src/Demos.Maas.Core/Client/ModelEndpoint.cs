namespace Demos.Maas.Client;

/// <summary>One address of a <see cref="MultiEndpointModel"/>: its connection, calls outstanding, and health.</summary>
internal sealed class ModelEndpoint(Uri uri, string model, MaasClientOptions options, LoadSpreadOptions spread) : IAsyncDisposable
{
    private readonly SemaphoreSlim _connect = new(1, 1);
    private readonly KeyValuePair<string, object?> _tag = new("maas.endpoint", uri.ToString());
    private long _calls;
    private long _failed;
    private long _ejections;
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

    /// <summary>Whether a later discovery still lists it (endpoints given directly always are).</summary>
    public bool Discovered { get; init; }

    public void Enter()
    {
        Interlocked.Increment(ref _outstanding);
        Interlocked.Increment(ref _calls);
        MultiEndpointModel.EndpointCalls.Add(1, _tag);
    }

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

    /// <summary>
    /// Counts a failure; after <see cref="LoadSpreadOptions.EjectAfterFailures"/> in a row, takes the
    /// endpoint out of rotation for an ejection time that doubles with each further failure in a row.
    /// </summary>
    public void Failed()
    {
        Interlocked.Increment(ref _failed);
        MultiEndpointModel.EndpointFailures.Add(1, _tag);
        int failures = Interlocked.Increment(ref _failures);
        int beyond = failures - spread.EjectAfterFailures;
        if (beyond < 0)
        {
            return;
        }

        long backoff = Math.Min(spread.EjectionTime.Ticks << Math.Min(beyond, 16), spread.MaxEjectionTime.Ticks) / TimeSpan.TicksPerMillisecond;
        Volatile.Write(ref _downUntil, Environment.TickCount64 + backoff);
        Interlocked.Increment(ref _ejections);
        MultiEndpointModel.EndpointEjections.Add(1, _tag);
    }

    public LoadSpreadEndpoint Status() =>
        new(Uri, IsHealthy, Outstanding, Interlocked.Read(ref _calls), Interlocked.Read(ref _failed), Interlocked.Read(ref _ejections));

    public async ValueTask DisposeAsync()
    {
        if (_client is { } client)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        _connect.Dispose();
    }
}
