namespace Demos.Maas.Security;

/// <summary>
/// One API key as the server stores it: never the secret, only a salted SHA-256 hash of it. Create
/// keys with <see cref="ApiKeys.Create"/> (or <c>maas key new</c>), which prints the secret once.
/// </summary>
public sealed class ApiKey
{
    /// <summary>The key's name; it is the identity of its callers in the audit log. Part of the secret, so the server finds the entry without trying every key.</summary>
    public string Id { get; set; } = "";

    /// <summary>The salt, hex.</summary>
    public string Salt { get; set; } = "";

    /// <summary>SHA-256 of salt bytes followed by the UTF-8 secret, hex.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>The roles this key grants (names in <see cref="MaasSecurityOptions.Roles"/>, or the built-in reader, analyst and admin).</summary>
    public IList<string> Roles { get; set; } = [];

    /// <summary>A revoked key is refused as if it were unknown. Keep it listed (revoked) so the audit log's names stay meaningful.</summary>
    public bool Revoked { get; set; }
}
