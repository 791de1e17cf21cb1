using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Demos.Maas.Registry;

/// <summary>The registry in one SQLite file: the default, for a registry run by one service.</summary>
internal sealed class SqliteRegistryStore(string path) : SqlRegistryStore
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(path),
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public override string Kind => "sqlite";

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // WAL lets the health monitor write while requests read; busy_timeout waits out a writer.
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open (and locked on some systems) until the pool is cleared.
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }
}
