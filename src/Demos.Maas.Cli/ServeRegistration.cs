using Demos.Maas.Registry;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas serve --register URL</c>: registers every hosted model's version and the server's endpoints
/// once listening, registers again every heartbeat (which refreshes last-seen, and recovers from a
/// registry that was down), and deregisters the endpoints when the server starts to drain, so
/// resolution stops sending clients to it.
/// </summary>
internal sealed class ServeRegistration : IAsyncDisposable
{
    private readonly RegistryClient _client;
    private readonly List<RegistrationRequest> _requests;
    private readonly CancellationTokenSource _stop = new();
    private Task _heartbeat = Task.CompletedTask;

    private ServeRegistration(RegistryClient client, List<RegistrationRequest> requests)
    {
        _client = client;
        _requests = requests;
    }

    public static async Task<ServeRegistration> StartAsync(Uri registry, string? key, IEnumerable<(IModel Model, string? Artifact)> models, IEnumerable<Uri> endpoints, string? region, TimeSpan heartbeat)
    {
        // In-process addresses cannot be reached from another process: they are not registered.
        var reachable = endpoints.Where(u => u.Scheme != "inproc").Select(u => new EndpointRegistration { Uri = u.ToString(), Region = region }).ToList();
        var requests = new List<RegistrationRequest>();
        foreach (var (model, artifact) in models)
        {
            var info = model.Info;
            var reference = new MaasReference
            {
                Uuid = info.Uuid,
                Endpoint = reachable.Count > 0 ? reachable[0].Uri : "inproc://unreachable",
                Version = info.Version,
                Checksum = ModelChecksum.Compute(info, artifact),
                Metadata = new MaasReferenceMetadata { Doi = info.Doi, Description = info.Description, Authors = [.. info.Authors], Artifact = artifact },
            };
            try
            {
                MaasReferenceJson.Serialize(reference);
                requests.Add(new RegistrationRequest { Name = info.Name, Reference = reference, Endpoints = reachable });
            }
            catch (RegistryException ex)
            {
                await Console.Error.WriteLineAsync($"maas: registry: {info.Name} is not registered: {ex.Message}").ConfigureAwait(false);
            }
        }

        var registration = new ServeRegistration(new RegistryClient(registry, key), requests);
        await registration.RegisterAllAsync(CancellationToken.None).ConfigureAwait(false);
        registration._heartbeat = Task.Run(() => registration.HeartbeatAsync(heartbeat));
        return registration;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _heartbeat.ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        foreach (var request in _requests)
        {
            foreach (var endpoint in request.Endpoints)
            {
                try
                {
                    await _client.DeregisterAsync(request.Reference.Uuid, request.Reference.Version, endpoint.Uri, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is MaasException or OperationCanceledException)
                {
                    await Console.Error.WriteLineAsync($"maas: registry: could not deregister {endpoint.Uri}: {ex.Message}").ConfigureAwait(false);
                }
            }
        }

        Console.WriteLine("deregistered");
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task HeartbeatAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await RegisterAllAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Draining: DisposeAsync deregisters.
        }
    }

    private async Task RegisterAllAsync(CancellationToken cancellationToken)
    {
        foreach (var request in _requests)
        {
            try
            {
                await _client.RegisterAsync(request, cancellationToken).ConfigureAwait(false);
                if (!cancellationToken.CanBeCanceled)
                {
                    Console.WriteLine($"registered {request.Name} {request.Reference.Uuid}@{request.Reference.Version} at {_client.Registry}");
                }
            }
            catch (MaasException ex)
            {
                // A registry that is down must not stop the models being served: the next heartbeat tries again.
                await Console.Error.WriteLineAsync($"maas: registry: {request.Name}: {ex.Code}: {ex.Message}").ConfigureAwait(false);
            }
        }
    }
}
