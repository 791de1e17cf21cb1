using Demos.Maas.Server;

namespace Demos.Maas.Transport;

/// <summary>
/// Server role of a transport that serves calls on routes rather than frames (HTTP): it starts a host
/// whose routes run each call through <see cref="MaasServer.InvokeAsync"/>, the server's one call
/// runner. The returned listener yields no connections; disposing it stops the host.
/// </summary>
public interface IMaasRouteHostFactory : IMaasTransport
{
    /// <summary>Starts serving <paramref name="server"/>'s models on <paramref name="uri"/>.</summary>
    ValueTask<IMaasListener> StartAsync(MaasServer server, Uri uri, CancellationToken cancellationToken = default);
}
