using System.Security.Cryptography;
using System.Text;

namespace Demos.Maas.Security;

/// <summary>Makes API keys: a secret to hand to the caller once, and the salted hash the server keeps.</summary>
public static class ApiKeys
{
    /// <summary>Every secret starts with this, so a leaked one is easy to recognise (and to scan for).</summary>
    public const string Prefix = "maas_";

    /// <summary>
    /// A new key <paramref name="id"/> with <paramref name="roles"/>: the secret
    /// (<c>maas_ID.RANDOM</c>, 256 random bits) and the entry to put in the server's configuration.
    /// </summary>
    /// <exception cref="ArgumentException">The id is empty or holds characters other than letters, digits, '-' and '_'.</exception>
    public static (string Secret, ApiKey Key) Create(string id, IEnumerable<string> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        if (string.IsNullOrEmpty(id) || id.Length > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"Key id '{id}' must be 1 to 64 letters, digits, '-' or '_'.", nameof(id));
        }

        string secret = $"{Prefix}{id}.{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        var key = new ApiKey { Id = id, Salt = Convert.ToHexStringLower(salt), Sha256 = Convert.ToHexStringLower(Hash(salt, secret)), Roles = [.. roles] };
        return (secret, key);
    }

    /// <summary>The key id a secret names, or null when it is not of our form.</summary>
    public static string? IdOf(string? secret)
    {
        if (secret is null || !secret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        int dot = secret.IndexOf('.', Prefix.Length);
        return dot > Prefix.Length ? secret[Prefix.Length..dot] : null;
    }

    /// <summary>True when <paramref name="secret"/> is the secret of <paramref name="key"/>; the comparison takes the same time wherever the two differ.</summary>
    public static bool Matches(ApiKey key, string secret)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(secret);
        byte[] salt, expected;
        try
        {
            salt = Convert.FromHexString(key.Salt);
            expected = Convert.FromHexString(key.Sha256);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Hash(salt, secret), expected);
    }

    internal static byte[] Hash(ReadOnlySpan<byte> salt, string secret)
    {
        byte[] input = new byte[salt.Length + Encoding.UTF8.GetByteCount(secret)];
        salt.CopyTo(input);
        Encoding.UTF8.GetBytes(secret, input.AsSpan(salt.Length));
        return Sha256.HashData(input);
    }
}
