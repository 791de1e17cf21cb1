using Microsoft.AspNetCore.Authentication;

namespace Demos.Maas.Registry;

/// <summary>The key hash writes are checked against.</summary>
internal sealed class RegistryKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    public string? KeyHash { get; set; }
}
