namespace Demos.Maas.Registry;

/// <summary>The body of a registration: a version's reference and the endpoints serving it. Sent again, it is a heartbeat.</summary>
public sealed class RegistrationRequest
{
    /// <summary>The display name of the model.</summary>
    public string Name { get; set; } = "";

    /// <summary>The version's reference. A version already registered must be registered with the same content.</summary>
    public MaasReference Reference { get; set; } = new();

    /// <summary>Endpoints serving the version (none: register the version only).</summary>
    public IList<EndpointRegistration> Endpoints { get; set; } = [];
}
