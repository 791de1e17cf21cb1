using System.Text.Json;
using Demos.Maas.Security;

namespace Demos.Maas.Core.Tests;

/// <summary>Bad security and TLS configuration is refused with InvalidArgument naming the setting; bad key ids and PEM files too.</summary>
public sealed class SecurityConfigurationTests
{
    private const string Key = """{"id": "a", "salt": "00ff", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "roles": ["reader"]}""";

    [Theory]
    [InlineData("""[]""", "'security' must be")]
    [InlineData("""{"keys": []}""", "no keys and no certificates")]
    [InlineData("""{"keys": [KEY], "colour": 1}""", "security.colour")]
    [InlineData("""{"keys": [{"id": "a"}]}""", "a key needs")]
    [InlineData("""{"keys": [{"id": "a", "salt": "zz", "sha256": "00"}]}""", "hexadecimal")]
    [InlineData("""{"keys": [KEY], "roles": {"r": {"operations": ["delete"]}}}""", "'delete' is not one of")]
    [InlineData("""{"keys": [KEY], "rateLimit": {"callsPerSecond": -1}}""", "positive number")]
    [InlineData("""{"keys": [KEY], "audit": {"enabled": "yes"}}""", "true or false")]
    [InlineData("""{"keys": [KEY], "keyFiles": ["/nonexistent/maas-keys.json"]}""", "cannot read a key file")]
    [InlineData("""{"certificates": {"CN=x": "reader"}}""", "array of strings")]
    public void Bad_security_sections_name_what_is_wrong(string json, string expected)
    {
        using var document = JsonDocument.Parse(json.Replace("KEY", Key, StringComparison.Ordinal));
        var error = Assert.Throws<MaasException>(() => MaasSecurityJson.Read(document.RootElement));
        Assert.Equal(MaasErrorCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_tls_sections_key_ids_and_certificate_files_are_refused()
    {
        using var tls = JsonDocument.Parse("""{"certificate": 1}""");
        Assert.Equal(MaasErrorCode.InvalidArgument, Assert.Throws<MaasException>(() => MaasSecurityJson.ReadTls(tls.RootElement)).Code);
        using var unknown = JsonDocument.Parse("""{"cert": "x.pem"}""");
        Assert.Contains("tls.cert", Assert.Throws<MaasException>(() => MaasSecurityJson.ReadTls(unknown.RootElement)).Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => ApiKeys.Create("has space", ["reader"]));
        Assert.Throws<ArgumentException>(() => ApiKeys.Create("", ["reader"]));
        Assert.Null(ApiKeys.IdOf("not-a-key"));

        var missing = Assert.Throws<MaasException>(() => TlsCertificates.Load("/nonexistent/server.pem", "/nonexistent/server.key"));
        Assert.Equal(MaasErrorCode.InvalidArgument, missing.Code);
        Assert.Equal(MaasErrorCode.InvalidArgument, Assert.Throws<MaasException>(() => TlsCertificates.LoadCa("/nonexistent/ca.pem")).Code);
    }
}

/// <summary>The managed SHA-256 of key hashes and checksums equals the platform's, at every padding boundary.</summary>
public sealed class ManagedSha256Tests
{
    [Fact]
    public void Equals_the_platform_hash_for_lengths_around_the_block_boundaries()
    {
        var random = new Random(7);
        foreach (int length in new[] { 0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000 })
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), Sha256.HashData(data));
        }
    }
}
