using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Demos.Maas.Registry;

/// <summary>Authenticates <c>Authorization: Bearer &lt;key&gt;</c> against the configured salted key hash (<see cref="RegistryKey"/>).</summary>
internal sealed class RegistryKeyAuthenticationHandler(IOptionsMonitor<RegistryKeyAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<RegistryKeyAuthenticationOptions>(options, logger, encoder)
{
    public const string SchemeName = "MaasRegistryKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        string key = header["Bearer ".Length..].Trim();
        if (Options.KeyHash is not { } hash || !RegistryKey.Verify(key, hash))
        {
            return Task.FromResult(AuthenticateResult.Fail("The registry key is not valid."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "registry-writer")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
