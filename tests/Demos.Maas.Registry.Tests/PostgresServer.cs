using System.Diagnostics;
using System.Globalization;
using Demos.Maas.Tests;
using Npgsql;

namespace Demos.Maas.Registry.Tests;

/// <summary>
/// A real PostgreSQL server for the tests: <c>initdb</c> in a new temporary directory and <c>pg_ctl start</c>,
/// listening only on a Unix socket in that directory. PostgreSQL refuses to run as root, so as root it
/// runs as the <c>postgres</c> user Debian's package creates.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"maas-pg-{Guid.NewGuid():N}");
    private readonly int _port = 20000 + Random.Shared.Next(20000);
    private string? _bin;
    private string? _missing;
    private int _databases;

    private static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault()
            : null;

    private static bool IsRoot => Environment.UserName == "root";

    public async Task InitializeAsync()
    {
        _bin = FindBin();
        if (_bin is null)
        {
            _missing = "PostgreSQL is not installed (apt-get install postgresql; scripts/install-test-deps.sh does it).";
            return;
        }

        Directory.CreateDirectory(_directory);
        if (IsRoot)
        {
            await RunAsync("chown", "postgres", _directory);
        }

        await RunPgAsync("initdb", "-D", Path.Combine(_directory, "data"), "-U", "maas", "--auth=trust", "-E", "UTF8", "--no-sync");
        await RunPgAsync("pg_ctl", "-D", Path.Combine(_directory, "data"), "-l", Path.Combine(_directory, "log"), "-w", "-t", "60",
            "-o", $"-c listen_addresses='' -k {_directory} -p {_port.ToString(CultureInfo.InvariantCulture)} -c fsync=off", "start");
    }

    /// <summary>Skips the test (locally) or fails it (under CI=true) when PostgreSQL is missing.</summary>
    public void Require()
    {
        if (_missing is not null)
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "On CI: " + _missing);
            Skip.If(true, _missing);
        }
    }

    /// <summary>A new empty database; its Npgsql connection string.</summary>
    public string CreateDatabase()
    {
        string name = $"registry_{Interlocked.Increment(ref _databases)}";
        using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE {name}";
            command.ExecuteNonQuery();
        }

        return ConnectionString(name);
    }

    public string ConnectionString(string database) =>
        $"Host={_directory};Port={_port.ToString(CultureInfo.InvariantCulture)};Username=maas;Database={database};Pooling=false";

    public async Task DisposeAsync()
    {
        if (_bin is not null && Directory.Exists(Path.Combine(_directory, "data")))
        {
            await RunPgAsync("pg_ctl", "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop");
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Task RunPgAsync(string tool, params string[] args) =>
        IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin!, tool), .. args]) : RunAsync(Path.Combine(_bin!, tool), args);

    private async Task RunAsync(string file, params string[] args)
    {
        var (code, output) = await TestEnvironment.RunAsync(file, _directory, args, limit: TimeSpan.FromMinutes(2));
        if (code != 0)
        {
            string log = File.Exists(Path.Combine(_directory, "log")) ? await File.ReadAllTextAsync(Path.Combine(_directory, "log")) : "";
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {output}\n{log}");
        }
    }
}
