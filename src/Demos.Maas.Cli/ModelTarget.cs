using Demos.Maas.Client;

namespace Demos.Maas.Cli;

/// <summary>
/// The model a command calls: at one server (a <see cref="MaasClient"/>), or spread over several
/// (a <c>maas+lb://</c> address: a <see cref="MultiEndpointModel"/>, whose <c>maas://</c> entries are
/// resolved through <c>MAAS_REGISTRY</c>).
/// </summary>
internal sealed class ModelTarget(IModel model, string where, IAsyncDisposable owner) : IAsyncDisposable
{
    public IModel Model { get; } = model;

    public string Where { get; } = where;

    /// <exception cref="MaasException">As <see cref="MaasClient.ConnectAsync(string, MaasClientOptions?, CancellationToken)"/> and <see cref="LoadSpreadAddress.Parse"/>.</exception>
    public static async Task<ModelTarget> ConnectAsync(string address, string model, MaasClientOptions options, CancellationToken ct)
    {
        if (LoadSpreadAddress.IsLoadSpread(address))
        {
            // The model named on the command line is the one called, whatever the address's path says.
            var parsed = LoadSpreadAddress.Parse(address, new Registry.RegistryTransport().LoadSpread());
            var spread = await MultiEndpointModel.ConnectAsync(parsed with { Model = model }, options, ct).ConfigureAwait(false);
            return new ModelTarget(spread, $"{spread.Endpoints.Count} endpoints ({string.Join(", ", spread.Endpoints)})", spread);
        }

        var client = await MaasClient.ConnectAsync(address, options, ct).ConfigureAwait(false);
        try
        {
            return new ModelTarget(await client.GetModelAsync(model, ct).ConfigureAwait(false), client.Uri.ToString(), client);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => owner.DisposeAsync();
}
