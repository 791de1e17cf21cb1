namespace Demos.Maas.Registry.Tests;

/// <summary>The store suite on a real PostgreSQL server, started for these tests in a temporary directory.</summary>
public sealed class PostgresRegistryStoreTests(PostgresServer server) : RegistryStoreContract, IClassFixture<PostgresServer>
{
    protected override void RequireBackEnd() => server.Require();

    protected override string NewStore() => server.CreateDatabase();
}
