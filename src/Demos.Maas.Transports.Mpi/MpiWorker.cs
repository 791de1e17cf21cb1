using Demos.Maas.Server;

namespace Demos.Maas.Transports.Mpi;

/// <summary>
/// A worker rank: hosts models exactly as any server does (same server core, same middleware) and
/// serves the client on rank 0 over MPI until the client closes the connection, then finalises MPI.
/// </summary>
public static class MpiWorker
{
    /// <summary>Serves <paramref name="server"/>'s models to rank 0; returns when rank 0 disconnects.</summary>
    public static async Task ServeAsync(MaasServer server, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        var runtime = await MpiRuntime.StartAsync().ConfigureAwait(false);
        try
        {
            if (runtime.Rank == 0)
            {
                throw new MaasException(MaasErrorCode.InvalidArgument, "Rank 0 is the client's rank; start workers on ranks 1..N-1 (mpirun -n 1 CLIENT : -n K maas mpi-worker ...).");
            }

            var endpoint = runtime.Open(0, 0, "mpi://0");
            using var stop = cancellationToken.Register(endpoint.Abort);
            await server.ServeConnectionAsync(endpoint).ConfigureAwait(false);
        }
        finally
        {
            await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await runtime.DisposeAsync().ConfigureAwait(false);
        }
    }
}
