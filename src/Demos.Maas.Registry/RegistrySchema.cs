namespace Demos.Maas.Registry;

/// <summary>
/// The registry's schema as numbered migrations, in SQL both SQLite and PostgreSQL run. A store
/// applies, in one transaction each, those above the version recorded in <c>registry_schema</c>; a
/// shipped migration is never edited, a change is a new one.
/// </summary>
internal static class RegistrySchema
{
    public static readonly string[] Migrations =
    [
        // 1: models, their versions (history, never overwritten) and endpoints with health.
        """
        CREATE TABLE models (
            uuid TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_ms BIGINT NOT NULL);
        CREATE TABLE model_versions (
            uuid TEXT NOT NULL REFERENCES models(uuid),
            version TEXT NOT NULL,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            description TEXT,
            authors TEXT NOT NULL,
            doi TEXT,
            reference TEXT NOT NULL,
            registered_ms BIGINT NOT NULL,
            PRIMARY KEY (uuid, version));
        CREATE TABLE endpoints (
            uuid TEXT NOT NULL,
            version TEXT NOT NULL,
            uri TEXT NOT NULL,
            transport TEXT NOT NULL,
            region TEXT,
            health TEXT NOT NULL,
            latency_ms DOUBLE PRECISION,
            last_seen_ms BIGINT,
            registered_ms BIGINT NOT NULL,
            PRIMARY KEY (uuid, version, uri),
            FOREIGN KEY (uuid, version) REFERENCES model_versions(uuid, version));
        """,

        // 2: the health monitor walks endpoints by address; search filters by DOI.
        """
        CREATE INDEX endpoints_by_uri ON endpoints (uri);
        CREATE INDEX model_versions_by_doi ON model_versions (doi);
        """,
    ];
}
