using Demos.Maas.Client;
using Demos.Maas.Transport;
using Demos.Maas.Transports.Http;

namespace Demos.Maas.UmBridge;

/// <summary>
/// <c>umbridge+http://host:port/model</c>: a UM-Bridge server's model as a MaaS server with that one
/// model. Calls are checked and dispatched as a MaaS server would (<see cref="ModelCallInvoker"/>)
/// onto <see cref="UmBridgeModel"/>, so <c>MaasClient</c>, its middleware and the <c>maas</c> tool
/// work with any UM-Bridge server.
/// </summary>
public sealed class UmBridgeTransport(HttpTransport? http = null) : IMaasCallInvokerFactory
{
    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme == UmBridgeModel.Scheme;

    /// <inheritdoc/>
    public async ValueTask<MaasCallInvoker> ConnectAsync(Uri uri, MaasClientOptions options, CancellationToken cancellationToken = default)
    {
        var model = await UmBridgeModel.ConnectAsync(uri, transport: http, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ModelCallInvoker(uri, [model], $"umbridge/{uri.Authority}");
    }
}
