using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Mpi;

/// <summary>
/// <c>mpi://RANK</c>: a connection to the MaaS worker on rank RANK of MPI_COMM_WORLD (client side,
/// on rank 0). Worker ranks do not bind: they serve rank 0 with <see cref="MpiWorker"/>.
/// </summary>
public sealed class MpiTransport(MpiRuntime runtime) : IMaasConnectionFactory
{
    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme == "mpi";

    /// <inheritdoc/>
    public ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!int.TryParse(uri.Host, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int rank) || rank < 0 || rank >= runtime.Size || rank == runtime.Rank)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{uri}' names no other rank: use mpi://RANK with 0 <= RANK < {runtime.Size}, not this rank ({runtime.Rank}).");
        }

        return ValueTask.FromResult<MaasConnection>(runtime.Open(0, rank, uri.ToString()));
    }
}
