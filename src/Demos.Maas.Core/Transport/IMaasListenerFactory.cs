namespace Demos.Maas.Transport;

/// <summary>Server role of a byte-stream transport: binds an address; the server runs the framed protocol on each accepted connection.</summary>
public interface IMaasListenerFactory : IMaasTransport
{
    /// <summary>Binds <paramref name="uri"/> and starts accepting.</summary>
    ValueTask<IMaasListener> BindAsync(Uri uri, CancellationToken cancellationToken = default);
}
