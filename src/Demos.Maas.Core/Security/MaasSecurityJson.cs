using System.Globalization;
using System.Text.Json;

namespace Demos.Maas.Security;

/// <summary>
/// The <c>"security"</c> section of a server's JSON configuration (the <c>maas serve --config</c> file
/// and the C ABI's server configuration read it alike; docs/security.md has the schema), and the key
/// entry <c>maas key new</c> prints.
/// </summary>
public static class MaasSecurityJson
{
    /// <summary>Reads a security section.</summary>
    /// <exception cref="MaasException">InvalidArgument naming the setting that is wrong.</exception>
    public static MaasSecurityOptions Read(JsonElement section)
    {
        var options = new MaasSecurityOptions();
        Expect(section, JsonValueKind.Object, "security");
        foreach (var p in section.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "keys":
                    Expect(v, JsonValueKind.Array, "security.keys");
                    foreach (var k in v.EnumerateArray())
                    {
                        options.Keys.Add(ReadKey(k, "security.keys[]"));
                    }

                    break;
                case "keyFiles":
                    foreach (var file in Strings(v, "security.keyFiles"))
                    {
                        ReadKeyFile(file, options);
                    }

                    break;
                case "roles":
                    Expect(v, JsonValueKind.Object, "security.roles");
                    foreach (var r in v.EnumerateObject())
                    {
                        options.Roles[r.Name] = ReadRole(r.Value, $"security.roles.{r.Name}");
                    }

                    break;
                case "certificates":
                    Expect(v, JsonValueKind.Object, "security.certificates");
                    foreach (var c in v.EnumerateObject())
                    {
                        options.Certificates[c.Name] = [.. Strings(c.Value, $"security.certificates.{c.Name}")];
                    }

                    break;
                case "rateLimit":
                    options.RateLimit = ReadRateLimit(v);
                    break;
                case "audit":
                    Expect(v, JsonValueKind.Object, "security.audit");
                    foreach (var a in v.EnumerateObject())
                    {
                        switch (a.Name)
                        {
                            case "enabled": options.Audit.Enabled = Bool(a.Value, "security.audit.enabled"); break;
                            case "file": options.Audit.FilePath = String(a.Value, "security.audit.file"); break;
                            default: throw Unknown($"security.audit.{a.Name}");
                        }
                    }

                    break;
                default:
                    throw Unknown($"security.{p.Name}");
            }
        }

        if (options.Keys.Count == 0 && options.Certificates.Count == 0)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, "security: no keys and no certificates: nobody could call this server. Add a key with 'maas key new'.");
        }

        return options;
    }

    /// <summary>Reads a <c>"tls"</c> section: <c>certificate</c>, <c>key</c>, <c>trustedCa</c>, <c>requireClientCertificate</c>, <c>serverName</c>.</summary>
    /// <exception cref="MaasException">InvalidArgument naming the setting that is wrong.</exception>
    public static MaasTlsOptions ReadTls(JsonElement section)
    {
        Expect(section, JsonValueKind.Object, "tls");
        var tls = new MaasTlsOptions();
        foreach (var p in section.EnumerateObject())
        {
            switch (p.Name)
            {
                case "certificate": tls.CertificatePath = String(p.Value, "tls.certificate"); break;
                case "key": tls.KeyPath = String(p.Value, "tls.key"); break;
                case "trustedCa": tls.TrustedCaPath = String(p.Value, "tls.trustedCa"); break;
                case "requireClientCertificate": tls.RequireClientCertificate = Bool(p.Value, "tls.requireClientCertificate"); break;
                case "serverName": tls.ServerName = String(p.Value, "tls.serverName"); break;
                default: throw Unknown($"tls.{p.Name}");
            }
        }

        return tls;
    }

    /// <summary>Writes one key entry, as it goes into <c>security.keys</c>.</summary>
    public static void WriteKey(Utf8JsonWriter writer, ApiKey key)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(key);
        writer.WriteStartObject();
        writer.WriteString("id", key.Id);
        writer.WriteString("salt", key.Salt);
        writer.WriteString("sha256", key.Sha256);
        writer.WriteStartArray("roles");
        foreach (var role in key.Roles)
        {
            writer.WriteStringValue(role);
        }

        writer.WriteEndArray();
        if (key.Revoked)
        {
            writer.WriteBoolean("revoked", true);
        }

        writer.WriteEndObject();
    }

    // A file holding a JSON array of key entries: how a Kubernetes Secret mounts the keys.
    private static void ReadKeyFile(string path, MaasSecurityOptions options)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"security.keyFiles: cannot read a key file: {ex.Message}");
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            Expect(document.RootElement, JsonValueKind.Array, "a key file");
            foreach (var k in document.RootElement.EnumerateArray())
            {
                options.Keys.Add(ReadKey(k, "a key file's entry"));
            }
        }
        catch (JsonException ex)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"security.keyFiles: a key file is not valid JSON: {ex.Message}");
        }
    }

    private static ApiKey ReadKey(JsonElement k, string where)
    {
        Expect(k, JsonValueKind.Object, where);
        var key = new ApiKey();
        foreach (var p in k.EnumerateObject())
        {
            switch (p.Name)
            {
                case "id": key.Id = String(p.Value, where + ".id"); break;
                case "salt": key.Salt = Hex(p.Value, where + ".salt"); break;
                case "sha256": key.Sha256 = Hex(p.Value, where + ".sha256"); break;
                case "roles": key.Roles = [.. Strings(p.Value, where + ".roles")]; break;
                case "revoked": key.Revoked = Bool(p.Value, where + ".revoked"); break;
                default: throw Unknown($"{where}.{p.Name}");
            }
        }

        if (key.Id.Length == 0 || key.Salt.Length == 0 || key.Sha256.Length != 64)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"{where}: a key needs 'id', 'salt' and a 64-digit 'sha256' (as 'maas key new' prints them).");
        }

        return key;
    }

    private static MaasRole ReadRole(JsonElement r, string where)
    {
        Expect(r, JsonValueKind.Object, where);
        var role = new MaasRole();
        foreach (var p in r.EnumerateObject())
        {
            switch (p.Name)
            {
                case "operations":
                    role.Operations = [.. Strings(p.Value, where + ".operations")];
                    foreach (var op in role.Operations)
                    {
                        if (op is not ("*" or MaasPermissions.Info or MaasPermissions.Compute or MaasPermissions.Sample or MaasPermissions.ReadData or MaasPermissions.UpdateParameters))
                        {
                            throw new MaasException(MaasErrorCode.InvalidArgument, $"{where}.operations: '{op}' is not one of info, compute, sample, read_data, update_parameters, *.");
                        }
                    }

                    break;
                case "models": role.Models = [.. Strings(p.Value, where + ".models")]; break;
                default: throw Unknown($"{where}.{p.Name}");
            }
        }

        return role;
    }

    private static MaasRateLimitOptions ReadRateLimit(JsonElement v)
    {
        Expect(v, JsonValueKind.Object, "security.rateLimit");
        var limits = new MaasRateLimitOptions();
        foreach (var p in v.EnumerateObject())
        {
            switch (p.Name)
            {
                case "callsPerSecond": limits.CallsPerSecond = Positive(p.Value, "security.rateLimit.callsPerSecond"); break;
                case "burst": limits.Burst = (int)Positive(p.Value, "security.rateLimit.burst"); break;
                case "maxConcurrentPerCaller": limits.MaxConcurrentPerCaller = (int)NonNegative(p.Value, "security.rateLimit.maxConcurrentPerCaller"); break;
                case "modelCallsPerSecond": limits.ModelCallsPerSecond = NonNegative(p.Value, "security.rateLimit.modelCallsPerSecond"); break;
                default: throw Unknown($"security.rateLimit.{p.Name}");
            }
        }

        return limits;
    }

    private static void Expect(JsonElement v, JsonValueKind kind, string where)
    {
        if (v.ValueKind != kind)
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, $"'{where}' must be a JSON {kind.ToString().ToLowerInvariant()}.");
        }
    }

    private static string String(JsonElement v, string where) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{where}' must be a string.");

    private static string Hex(JsonElement v, string where)
    {
        string text = String(v, where);
        return text.Length % 2 == 0 && text.All(char.IsAsciiHexDigit) ? text.ToLowerInvariant() : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{where}' must be hexadecimal.");
    }

    private static bool Bool(JsonElement v, string where) =>
        v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{where}' must be true or false.");

    private static double Positive(JsonElement v, string where) =>
        v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0 ? v.GetDouble() : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{where}' must be a positive number.");

    private static double NonNegative(JsonElement v, string where) =>
        v.ValueKind == JsonValueKind.Number && v.GetDouble() >= 0 ? v.GetDouble() : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{where}' must be a number ≥ 0.");

    private static IEnumerable<string> Strings(JsonElement v, string where) =>
        v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? [.. v.EnumerateArray().Select(e => e.GetString()!)]
            : throw new MaasException(MaasErrorCode.InvalidArgument, $"'{where}' must be an array of strings.");

    private static MaasException Unknown(string setting) =>
        new(MaasErrorCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture, $"unknown setting '{setting}'."));
}
