namespace Demos.Maas.Registry.Tests;

/// <summary>The store suite on a real SQLite file.</summary>
public sealed class SqliteRegistryStoreTests : RegistryStoreContract, IDisposable
{
    private readonly List<string> _files = [];

    protected override string NewStore()
    {
        string path = TestModels.TempPath("registry.db");
        _files.Add(path);
        return path;
    }

    public void Dispose()
    {
        foreach (string file in _files)
        {
            foreach (string suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(file + suffix);
            }
        }
    }
}
