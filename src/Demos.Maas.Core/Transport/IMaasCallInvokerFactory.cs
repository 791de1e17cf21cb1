using Demos.Maas.Client;

namespace Demos.Maas.Transport;

/// <summary>
/// Client role of a transport that carries calls, not frames (grpc-dotnet's <c>CallInvoker</c>):
/// HTTP maps each call onto a route, UM-Bridge onto its JSON API. The client's middleware, retries,
/// deadlines and cache run unchanged on top.
/// </summary>
public interface IMaasCallInvokerFactory : IMaasTransport
{
    /// <summary>Connects to <paramref name="uri"/> (checking that a server of the right kind answers) and returns the invoker.</summary>
    ValueTask<MaasCallInvoker> ConnectAsync(Uri uri, MaasClientOptions options, CancellationToken cancellationToken = default);
}
