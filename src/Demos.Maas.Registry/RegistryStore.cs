namespace Demos.Maas.Registry;

/// <summary>Opens a registry store from a connection string.</summary>
public static class RegistryStore
{
    /// <summary>
    /// <c>postgresql://user@host:port/db</c>, <c>postgres://…</c> or an Npgsql connection string
    /// (<c>Host=…;Database=…</c>) opens PostgreSQL; anything else is the path of a SQLite file (created
    /// when missing). Call <see cref="IRegistryStore.MigrateAsync"/> before use.
    /// </summary>
    public static IRegistryStore Open(string connection)
    {
        ArgumentException.ThrowIfNullOrEmpty(connection);
        if (connection.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || connection.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresRegistryStore(PostgresRegistryStore.FromUrl(connection));
        }

        if (connection.Contains("Host=", StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresRegistryStore(connection);
        }

        return new SqliteRegistryStore(connection);
    }
}
