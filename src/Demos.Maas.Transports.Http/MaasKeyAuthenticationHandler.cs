using System.Text.Encodings.Web;
using Demos.Maas.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// ASP.NET Core authentication for a <see cref="MaasServer"/>'s API keys (<c>Authorization: Bearer …</c>)
/// and TLS client certificates: it sets <c>HttpContext.User</c>, which the MaaS routes pass to the
/// server's authorization. Register with <see cref="MaasAuthenticationExtensions.AddMaasKeys"/>.
/// </summary>
public sealed class MaasKeyAuthenticationHandler(IOptionsMonitor<MaasKeyAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<MaasKeyAuthenticationOptions>(options, logger, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "MaasKey";

    /// <inheritdoc/>
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var server = Options.Server ?? throw new InvalidOperationException("MaasKeyAuthenticationOptions.Server is not set.");
        string? bearer = RestEndpoints.Credentials(Context);
        string? subject = Context.Connection.ClientCertificate?.Subject;
        if (bearer is null && subject is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        try
        {
            var user = server.Authenticate(bearer, subject);
            return Task.FromResult(user is null ? AuthenticateResult.NoResult() : AuthenticateResult.Success(new AuthenticationTicket(user, Scheme.Name)));
        }
        catch (MaasException refused)
        {
            return Task.FromResult(AuthenticateResult.Fail(refused.Message));
        }
    }

    /// <inheritdoc/>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}
