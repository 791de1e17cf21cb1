using System.Security.Cryptography;
using System.Text;

namespace Demos.Maas.Registry;

/// <summary>
/// The bearer key that authorises writes to a registry. The registry keeps only a salted hash of it
/// (<c>sha256$salt$hash</c>, base64), so its configuration is no secret, and compares in constant time.
/// </summary>
public static class RegistryKey
{
    private const string Algorithm = "sha256";

    /// <summary>A new random key (256 bits, base64url).</summary>
    public static string Generate() => Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>The salted hash to configure the registry with (<c>maas registry serve --key-hash</c>).</summary>
    public static string Hash(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        return $"{Algorithm}${Convert.ToBase64String(salt)}${Convert.ToBase64String(Digest(salt, key))}";
    }

    /// <summary>True when <paramref name="key"/> is the key <paramref name="hash"/> was made from; the comparison takes the same time wherever the two differ.</summary>
    public static bool Verify(string key, string hash)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(hash);
        string[] parts = hash.Split('$');
        if (parts.Length != 3 || parts[0] != Algorithm)
        {
            return false;
        }

        try
        {
            byte[] salt = Convert.FromBase64String(parts[1]);
            byte[] expected = Convert.FromBase64String(parts[2]);
            return CryptographicOperations.FixedTimeEquals(Digest(salt, key), expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="hash"/> has the form <see cref="Hash"/> produces.</summary>
    public static bool IsValidHash(string hash)
    {
        string[] parts = hash?.Split('$') ?? [];
        return parts.Length == 3 && parts[0] == Algorithm && parts[1].Length > 0 && parts[2].Length > 0;
    }

    private static byte[] Digest(byte[] salt, string key)
    {
        byte[] keyBytes = Encoding.UTF8.GetBytes(key);
        byte[] input = new byte[salt.Length + keyBytes.Length];
        salt.CopyTo(input, 0);
        keyBytes.CopyTo(input, salt.Length);
        return SHA256.HashData(input);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
