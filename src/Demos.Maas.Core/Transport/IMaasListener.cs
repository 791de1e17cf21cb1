namespace Demos.Maas.Transport;

/// <summary>A bound address that accepts connections (Kestrel's <c>IConnectionListener</c>).</summary>
public interface IMaasListener : IAsyncDisposable
{
    /// <summary>The address actually bound (a TCP port 0 becomes the real port).</summary>
    Uri Uri { get; }

    /// <summary>The next connection, or null once the listener is closed.</summary>
    ValueTask<MaasConnection?> AcceptAsync(CancellationToken cancellationToken = default);
}
