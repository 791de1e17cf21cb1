using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace Demos.Maas.Registry;

/// <summary>
/// The registry over ADO.NET, in SQL that SQLite and PostgreSQL share (named <c>@</c> parameters,
/// <c>ON CONFLICT … DO UPDATE</c>, times as Unix milliseconds), so both back ends run the same code.
/// </summary>
internal abstract class SqlRegistryStore : IRegistryStore
{
    public abstract string Kind { get; }

    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS registry_schema (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        int current = Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM registry_schema", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        for (int version = current + 1; version <= RegistrySchema.Migrations.Length; version++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            foreach (string statement in RegistrySchema.Migrations[version - 1].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                await ExecuteAsync(connection, transaction, statement, cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, transaction, "INSERT INTO registry_schema (version) VALUES (@v)", cancellationToken, ("v", version)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<bool> RegisterVersionAsync(string name, MaasReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        string json = JsonSerializer.Serialize(reference, RegistryJsonContext.Default.MaasReference);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var existing = await ReadVersionsAsync(connection, transaction, "WHERE uuid = @u AND version = @v", cancellationToken, ("u", Key(reference.Uuid)), ("v", reference.Version)).ConfigureAwait(false);
        if (existing.Count > 0)
        {
            var old = existing[0].Reference;
            if (old.Checksum != reference.Checksum || MetadataJson(old) != MetadataJson(reference))
            {
                throw new RegistryException(
                    RegistryError.VersionConflict,
                    $"Version {reference.Version} of {reference.Uuid} is registered with checksum {old.Checksum}; it cannot be registered again with {(old.Checksum != reference.Checksum ? $"checksum {reference.Checksum}" : "different metadata")}. Versions are never overwritten: register a new version.",
                    "version");
            }

            return false;
        }

        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await ExecuteAsync(connection, transaction, "INSERT INTO models (uuid, name, created_ms) VALUES (@u, @n, @t) ON CONFLICT (uuid) DO UPDATE SET name = excluded.name", cancellationToken, ("u", Key(reference.Uuid)), ("n", name), ("t", now)).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO model_versions (uuid, version, name, checksum, description, authors, doi, reference, registered_ms) VALUES (@u, @v, @n, @c, @d, @a, @doi, @r, @t)",
            cancellationToken,
            ("u", Key(reference.Uuid)),
            ("v", reference.Version),
            ("n", name),
            ("c", reference.Checksum),
            ("d", reference.Metadata.Description),
            ("a", string.Join('\n', reference.Metadata.Authors)),
            ("doi", reference.Metadata.Doi),
            ("r", json),
            ("t", now)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<ModelVersionRecord?> GetVersionAsync(Guid uuid, string? version, CancellationToken cancellationToken = default)
    {
        if (version is null)
        {
            var all = await ListVersionsAsync(uuid, cancellationToken).ConfigureAwait(false);
            return all.Count == 0 ? null : all[^1];
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var found = await ReadVersionsAsync(connection, null, "WHERE uuid = @u AND version = @v", cancellationToken, ("u", Key(uuid)), ("v", version)).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(Guid uuid, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var found = await ReadVersionsAsync(connection, null, "WHERE uuid = @u", cancellationToken, ("u", Key(uuid))).ConfigureAwait(false);
        return SortByVersion(found);
    }

    public async Task<IReadOnlyList<ModelSummary>> SearchAsync(string? text, string? author, string? doi, CancellationToken cancellationToken = default)
    {
        var where = new List<string>();
        var args = new List<(string, object?)>();
        if (!string.IsNullOrWhiteSpace(text))
        {
            where.Add("(LOWER(name) LIKE @q OR LOWER(COALESCE(description, '')) LIKE @q OR LOWER(authors) LIKE @q OR LOWER(COALESCE(doi, '')) LIKE @q OR uuid LIKE @q)");
            args.Add(("q", Like(text)));
        }

        if (!string.IsNullOrWhiteSpace(author))
        {
            where.Add("LOWER(authors) LIKE @a");
            args.Add(("a", Like(author)));
        }

        if (!string.IsNullOrWhiteSpace(doi))
        {
            where.Add("LOWER(COALESCE(doi, '')) = @doi");
            args.Add(("doi", doi.Trim().ToLowerInvariant()));
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // A model matches when any of its versions does; it is listed with all its versions.
        string filter = where.Count == 0 ? "" : "WHERE uuid IN (SELECT uuid FROM model_versions WHERE " + string.Join(" AND ", where) + ")";
        var rows = await ReadVersionsAsync(connection, null, filter, cancellationToken, [.. args]).ConfigureAwait(false);
        return [.. rows.GroupBy(r => r.Reference.Uuid).Select(g =>
        {
            var versions = SortByVersion([.. g]);
            var latest = versions[^1];
            return new ModelSummary
            {
                Uuid = g.Key,
                Name = latest.Name,
                LatestVersion = latest.Reference.Version,
                Versions = [.. versions.Select(v => v.Reference.Version)],
                Metadata = latest.Reference.Metadata,
            };
        }).OrderBy(s => s.Name, StringComparer.Ordinal)];
    }

    public async Task AddEndpointAsync(Guid uuid, string version, EndpointRegistration endpoint, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        string transport = endpoint.Transport ?? (Uri.TryCreate(endpoint.Uri, UriKind.Absolute, out var parsed) ? parsed.Scheme : "unknown");
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            null,
            "INSERT INTO endpoints (uuid, version, uri, transport, region, health, latency_ms, last_seen_ms, registered_ms) VALUES (@u, @v, @uri, @tr, @rg, @h, NULL, @t, @t) " +
            "ON CONFLICT (uuid, version, uri) DO UPDATE SET transport = excluded.transport, region = excluded.region, last_seen_ms = excluded.last_seen_ms",
            cancellationToken,
            ("u", Key(uuid)),
            ("v", version),
            ("uri", endpoint.Uri),
            ("tr", transport),
            ("rg", endpoint.Region),
            ("h", nameof(EndpointHealth.Unknown)),
            ("t", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
    }

    public async Task<bool> RemoveEndpointAsync(Guid uuid, string? version, string uri, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        int removed = version is null
            ? await ExecuteAsync(connection, null, "DELETE FROM endpoints WHERE uuid = @u AND uri = @uri", cancellationToken, ("u", Key(uuid)), ("uri", uri)).ConfigureAwait(false)
            : await ExecuteAsync(connection, null, "DELETE FROM endpoints WHERE uuid = @u AND version = @v AND uri = @uri", cancellationToken, ("u", Key(uuid)), ("v", version), ("uri", uri)).ConfigureAwait(false);
        return removed > 0;
    }

    public async Task<IReadOnlyList<EndpointRecord>> ListEndpointsAsync(Guid? uuid, string? version, CancellationToken cancellationToken = default)
    {
        string sql = "SELECT uuid, version, uri, transport, region, health, latency_ms, last_seen_ms, registered_ms FROM endpoints";
        var args = new List<(string, object?)>();
        if (uuid is { } u)
        {
            sql += " WHERE uuid = @u";
            args.Add(("u", Key(u)));
            if (version is not null)
            {
                sql += " AND version = @v";
                args.Add(("v", version));
            }
        }

        sql += " ORDER BY uuid, version, uri";
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, [.. args]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<EndpointRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new EndpointRecord
            {
                Uuid = Guid.Parse(reader.GetString(0)),
                Version = reader.GetString(1),
                Uri = reader.GetString(2),
                Transport = reader.GetString(3),
                Region = reader.IsDBNull(4) ? null : reader.GetString(4),
                Health = Enum.TryParse<EndpointHealth>(reader.GetString(5), out var h) ? h : EndpointHealth.Unknown,
                LatencyMs = reader.IsDBNull(6) ? null : reader.GetDouble(6),
                LastSeen = reader.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                RegisteredAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
            });
        }

        return list;
    }

    public async Task RecordHealthAsync(Guid uuid, string version, string uri, EndpointHealth health, double? latencyMs, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        string seen = health == EndpointHealth.Healthy ? ", last_seen_ms = @t" : "";
        await ExecuteAsync(
            connection,
            null,
            $"UPDATE endpoints SET health = @h, latency_ms = @l{seen} WHERE uuid = @u AND version = @v AND uri = @uri",
            cancellationToken,
            ("h", health.ToString()),
            ("l", latencyMs),
            ("t", at.ToUnixTimeMilliseconds()),
            ("u", Key(uuid)),
            ("v", version),
            ("uri", uri)).ConfigureAwait(false);
    }

    private static string Key(Guid uuid) => uuid.ToString("D");

    private static string Like(string text) => "%" + text.Trim().ToLowerInvariant() + "%";

    private static string MetadataJson(MaasReference reference) => JsonSerializer.Serialize(reference.Metadata, RegistryJsonContext.Default.MaasReferenceMetadata);

    private static List<ModelVersionRecord> SortByVersion(List<ModelVersionRecord> versions)
    {
        versions.Sort((a, b) =>
            SemanticVersion.TryParse(a.Reference.Version, out var x) && SemanticVersion.TryParse(b.Reference.Version, out var y)
                ? x.CompareTo(y)
                : string.CompareOrdinal(a.Reference.Version, b.Reference.Version));
        return versions;
    }

    private static async Task<List<ModelVersionRecord>> ReadVersionsAsync(DbConnection connection, DbTransaction? transaction, string filter, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
    {
        await using var command = Command(connection, transaction, $"SELECT name, reference, registered_ms FROM model_versions {filter}", args);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<ModelVersionRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new ModelVersionRecord
            {
                Name = reader.GetString(0),
                Reference = JsonSerializer.Deserialize(reader.GetString(1), RegistryJsonContext.Default.MaasReference)!,
                RegisteredAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
            });
        }

        return list;
    }

    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
    {
        await using var command = Command(connection, transaction, sql, args);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql, []);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, (string Name, object? Value)[] args)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in args)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            if (value is null)
            {
                // An untyped NULL is fine for SQLite; PostgreSQL needs to know what it is.
                parameter.DbType = name == "l" ? System.Data.DbType.Double : System.Data.DbType.String;
            }

            command.Parameters.Add(parameter);
        }

        return command;
    }
}
