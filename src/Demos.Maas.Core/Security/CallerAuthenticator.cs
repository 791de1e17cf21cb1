using System.Security.Claims;

namespace Demos.Maas.Security;

/// <summary>
/// Turns what a caller presented (a bearer secret, or a TLS client certificate's subject) into a
/// principal with role claims, or into the error it gets. Every refusal says the same thing whatever
/// was wrong (absent key id, wrong secret, revoked key), so a caller learns nothing about which keys exist.
/// </summary>
internal sealed class CallerAuthenticator(MaasSecurityOptions options)
{
    public const string KeyAuthentication = "maas-key";
    public const string CertificateAuthentication = "tls-client-certificate";

    // A key that exists nowhere, so an unknown id costs one hash as a known one does.
    private static readonly ApiKey Decoy = new() { Id = "", Salt = "00000000000000000000000000000000", Sha256 = new string('0', 64) };

    public MaasSecurityOptions Options { get; } = options;

    /// <summary>The caller's principal; throws Unauthenticated when neither credential is accepted.</summary>
    public ClaimsPrincipal Authenticate(string? credentials, string? certificateSubject)
    {
        if (!string.IsNullOrEmpty(credentials))
        {
            string? id = ApiKeys.IdOf(credentials);
            var key = id is null ? null : Options.Keys.FirstOrDefault(k => string.Equals(k.Id, id, StringComparison.Ordinal));
            bool matches = ApiKeys.Matches(key ?? Decoy, credentials);
            if (key is not null && matches && !key.Revoked)
            {
                return Principal(key.Id, key.Roles, KeyAuthentication);
            }

            throw new MaasException(MaasErrorCode.Unauthenticated, "The credentials were not accepted.");
        }

        if (certificateSubject is not null && Options.Certificates.TryGetValue(certificateSubject, out var roles))
        {
            return Principal(certificateSubject, roles, CertificateAuthentication);
        }

        throw new MaasException(MaasErrorCode.Unauthenticated, certificateSubject is null
            ? "This server requires credentials: an API key (MaasClientOptions.Credentials, 'Authorization: Bearer …') or a TLS client certificate."
            : "The credentials were not accepted.");
    }

    public static ClaimsPrincipal Principal(string name, IEnumerable<string> roles, string authenticationType)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }
}
