using Demos.Maas.Server;

namespace Demos.Maas.Transport;

/// <summary>
/// A transport that is not a byte stream (HTTP routes): it serves requests itself by calling
/// <see cref="MaasServer.InvokeAsync"/>, so it needs the server when it binds.
/// <see cref="MaasServer.ListenAsync(Uri, CancellationToken)"/> calls this overload for such transports.
/// </summary>
public interface IMaasHostingTransport : IMaasTransport
{
    /// <summary>Binds a listener that serves <paramref name="server"/>'s models. Its <see cref="IMaasListener.AcceptAsync"/> yields no connections and returns null once the listener has stopped.</summary>
    ValueTask<IMaasListener> BindAsync(MaasServer server, Uri uri, CancellationToken cancellationToken = default);
}
