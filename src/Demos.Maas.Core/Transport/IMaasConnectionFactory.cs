namespace Demos.Maas.Transport;

/// <summary>Client role of a byte-stream transport: opens a duplex connection; the client runs the framed protocol over it.</summary>
public interface IMaasConnectionFactory : IMaasTransport
{
    /// <summary>Opens a connection to the server at <paramref name="uri"/>.</summary>
    ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default);
}
