using Demos.Maas.Server;
using Microsoft.AspNetCore.Authentication;

namespace Demos.Maas.Transports.Http;

/// <summary>Settings of <see cref="MaasKeyAuthenticationHandler"/>: the server whose keys and certificate identities it checks.</summary>
public sealed class MaasKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The server.</summary>
    public MaasServer? Server { get; set; }
}
