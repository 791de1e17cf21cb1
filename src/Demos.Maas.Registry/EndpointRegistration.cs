namespace Demos.Maas.Registry;

/// <summary>An endpoint in a <see cref="RegistrationRequest"/>.</summary>
public sealed class EndpointRegistration
{
    /// <summary>The address.</summary>
    public string Uri { get; set; } = "";

    /// <summary>Transport label; the URI scheme when null.</summary>
    public string? Transport { get; set; }

    /// <summary>Region label, or null.</summary>
    public string? Region { get; set; }
}
