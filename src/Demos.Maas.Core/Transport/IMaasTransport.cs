namespace Demos.Maas.Transport;

/// <summary>
/// A transport plugin. It takes one or more roles, each an interface of its own (Kestrel's split of
/// <c>IConnectionFactory</c> and <c>IConnectionListenerFactory</c>): <see cref="IMaasConnectionFactory"/>
/// and <see cref="IMaasListenerFactory"/> for byte streams, <see cref="IMaasCallInvokerFactory"/> and
/// <see cref="IMaasRouteHostFactory"/> for transports that carry calls rather than frames (HTTP).
/// A client or server picks, for a URI, the first registered transport in the role it needs whose
/// <see cref="CanHandle"/> says yes.
/// </summary>
public interface IMaasTransport
{
    /// <summary>True when this transport understands <paramref name="uri"/> (usually: its scheme).</summary>
    bool CanHandle(Uri uri);
}
