using Demos.Maas.Server;
using Microsoft.AspNetCore.Authentication;

namespace Demos.Maas.Transports.Http;

/// <summary>Adds the MaaS key authentication scheme to an application's ASP.NET Core authentication.</summary>
public static class MaasAuthenticationExtensions
{
    /// <summary>
    /// Authenticates bearer API keys and TLS client certificates against <paramref name="server"/>'s
    /// <c>MaasServerOptions.Security</c>: <c>services.AddAuthentication(MaasKeyAuthenticationHandler.SchemeName).AddMaasKeys(server)</c>.
    /// </summary>
    public static AuthenticationBuilder AddMaasKeys(this AuthenticationBuilder builder, MaasServer server)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(server);
        return builder.AddScheme<MaasKeyAuthenticationOptions, MaasKeyAuthenticationHandler>(MaasKeyAuthenticationHandler.SchemeName, o => o.Server = server);
    }
}
