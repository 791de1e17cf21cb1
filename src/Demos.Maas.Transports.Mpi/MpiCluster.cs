using Demos.Maas.Client;

namespace Demos.Maas.Transports.Mpi;

/// <summary>
/// The client side of an MPMD job (<c>mpirun -n 1 CLIENT : -n K maas mpi-worker ...</c>): rank 0
/// connects to every worker rank and hands out one <see cref="DistributedModel"/> per hosted model,
/// which spreads calls over the workers and splits large batches across them.
/// </summary>
public sealed class MpiCluster : IAsyncDisposable
{
    private readonly MpiRuntime _runtime;

    private MpiCluster(MpiRuntime runtime, IReadOnlyList<MaasClient> workers)
    {
        _runtime = runtime;
        Workers = workers;
    }

    /// <summary>One client per worker rank (rank r at index r - 1).</summary>
    public IReadOnlyList<MaasClient> Workers { get; }

    /// <summary>The MPI runtime (rank, size, library version).</summary>
    public MpiRuntime Runtime => _runtime;

    /// <summary>Starts MPI on rank 0 and connects to ranks 1..size-1.</summary>
    public static async Task<MpiCluster> ConnectAsync(MaasClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        var runtime = await MpiRuntime.StartAsync().ConfigureAwait(false);
        if (runtime.Rank != 0)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"The cluster client runs on rank 0; this is rank {runtime.Rank}.");
        }

        if (runtime.Size < 2)
        {
            throw new MaasException(MaasErrorCode.Unavailable, "No worker ranks: start the job as mpirun -n 1 CLIENT : -n K maas mpi-worker --model NAME.");
        }

        var workers = new List<MaasClient>();
        for (int rank = 1; rank < runtime.Size; rank++)
        {
            var workerOptions = Copy(options);
            workerOptions.Transports.Add(new MpiTransport(runtime));
            workers.Add(await MaasClient.ConnectAsync(new Uri($"mpi://{rank}"), workerOptions, cancellationToken).ConfigureAwait(false));
        }

        return new MpiCluster(runtime, workers);
    }

    /// <summary>A model hosted by every worker, as one <see cref="IModel"/>.</summary>
    public async Task<DistributedModel> GetModelAsync(string nameOrUuid, CancellationToken cancellationToken = default)
    {
        var models = new List<RemoteModel>();
        foreach (var worker in Workers)
        {
            models.Add(await worker.GetModelAsync(nameOrUuid, cancellationToken).ConfigureAwait(false));
        }

        return new DistributedModel(models);
    }

    /// <summary>Closes every worker connection (the workers then exit) and finalises MPI.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var worker in Workers)
        {
            await worker.DisposeAsync().ConfigureAwait(false);
        }

        await _runtime.DisposeAsync().ConfigureAwait(false);
    }

    private static MaasClientOptions Copy(MaasClientOptions? options)
    {
        var copy = new MaasClientOptions { Reconnect = false };
        if (options is not null)
        {
            copy.DefaultTimeout = options.DefaultTimeout;
            copy.MaxFrameBytes = options.MaxFrameBytes;
            copy.Credentials = options.Credentials;
            copy.Cache = options.Cache;
            copy.Coalescing = options.Coalescing;
            copy.UsageLog = options.UsageLog;
            copy.LoggerFactory = options.LoggerFactory;
            copy.Pipeline.UseAll(options.Pipeline);
        }

        // A lost MPI peer does not come back: no retries, no reconnects.
        copy.Retry = null;
        return copy;
    }
}
