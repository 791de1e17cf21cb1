using System.CommandLine;
using System.Text.Json;
using Demos.Maas.Security;

namespace Demos.Maas.Cli;

/// <summary>
/// <c>maas key new</c>: makes an API key. The secret goes to stdout once (hand it to the caller);
/// the salted hash goes into a key file (a JSON array that <c>security.keyFiles</c> reads) or, without
/// one, to stdout as the entry to paste into <c>security.keys</c>.
/// </summary>
internal static class KeyCommand
{
    public static Command Create()
    {
        var id = new Option<string>("--id") { Description = "The key's name: letters, digits, '-', '_' (it identifies the caller in the audit log)", Required = true };
        var role = new Option<string[]>("--role", "-r") { Description = "A role the key grants (repeatable): reader, analyst, admin, or one defined in security.roles", Required = true };
        var keyFile = new Option<string?>("--key-file") { Description = "Append the hashed entry to this JSON key file (created if missing) instead of printing it" };
        var create = new Command("new", "Make an API key: prints the secret once, writes the salted hash.") { id, role, keyFile };
        create.SetAction((result, _) => Failures.RunAsync(async () =>
        {
            var (secret, key) = ApiKeys.Create(result.GetValue(id)!, result.GetValue(role) ?? []);
            string? path = result.GetValue(keyFile);
            if (path is null)
            {
                Console.WriteLine($"secret: {secret}");
                Console.WriteLine($"entry:  {Entry(key)}");
                return 0;
            }

            var entries = new List<string>();
            if (File.Exists(path))
            {
                using var existing = JsonDocument.Parse(await File.ReadAllTextAsync(path).ConfigureAwait(false));
                if (existing.RootElement.ValueKind != JsonValueKind.Array)
                {
                    throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' is not a key file (a JSON array of key entries).");
                }

                foreach (var entry in existing.RootElement.EnumerateArray())
                {
                    if (entry.TryGetProperty("id", out var existingId) && existingId.GetString() == key.Id)
                    {
                        throw new MaasException(MaasErrorCode.InvalidArgument, $"'{path}' already has a key '{key.Id}'; revoke it or choose another id.");
                    }

                    entries.Add(entry.GetRawText());
                }
            }

            entries.Add(Entry(key));
            await File.WriteAllTextAsync(path, "[\n  " + string.Join(",\n  ", entries) + "\n]\n").ConfigureAwait(false);
            Console.WriteLine($"secret: {secret}");
            Console.Error.WriteLine($"maas: the hash of key '{key.Id}' was added to {path}; the secret is shown only now.");
            return 0;
        }));
        return new Command("key", "API keys for servers that authenticate their callers.") { create };
    }

    private static string Entry(ApiKey key)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            MaasSecurityJson.WriteKey(writer, key);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
