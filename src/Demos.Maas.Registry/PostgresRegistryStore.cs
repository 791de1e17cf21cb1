using System.Data.Common;
using Npgsql;

namespace Demos.Maas.Registry;

/// <summary>The registry in a PostgreSQL database: for a registry shared by an institution (several registry processes, one database).</summary>
internal sealed class PostgresRegistryStore(string connectionString) : SqlRegistryStore
{
    // The slim builder leaves out the reflection-based type plugins, so the store stays NativeAOT-clean.
    private readonly NpgsqlDataSource _dataSource = new NpgsqlSlimDataSourceBuilder(connectionString).Build();

    public override string Kind => "postgresql";

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>An Npgsql connection string from <c>postgresql://user:password@host:port/database</c>.</summary>
    public static string FromUrl(string url)
    {
        var uri = new Uri(url);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Uri.UnescapeDataString(uri.Host),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = uri.AbsolutePath.Trim('/') is { Length: > 0 } db ? Uri.UnescapeDataString(db) : "postgres",
        };
        if (uri.UserInfo.Length > 0)
        {
            string[] parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        // ?host=/run/dir selects a Unix socket directory, as libpq does.
        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            if (kv.Length == 2 && kv[0] == "host")
            {
                builder.Host = Uri.UnescapeDataString(kv[1]);
            }
        }

        return builder.ToString();
    }
}
