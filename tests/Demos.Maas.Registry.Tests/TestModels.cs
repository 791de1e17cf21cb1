using Demos.Maas.Registry;

namespace Demos.Maas.Registry.Tests;

/// <summary>One model in two versions (same uuid), and the references that name them.</summary>
internal static class TestModels
{
    public static readonly Guid Uuid = new("5b0c3f7e-2d4a-4e8b-9c1d-7a6e5f4b3c2d");

    public static IModel Create(string version, double offset = 0) => ModelBuilder.Create("shifted-normal")
        .WithUuid(Uuid)
        .WithVersion(version)
        .WithDescription("A normal log-density shifted by theta, for registry tests.")
        .WithAuthors("Ada Lovelace", "Emmy Noether")
        .WithDoi("10.5281/zenodo.1234567")
        .WithInputDimension(1)
        .WithScalarParameter("mu", offset)
        .WithLogDensity((ReadOnlySpan<double> x, ReadOnlySpan<double> theta) => -0.5 * (x[0] - theta[0]) * (x[0] - theta[0]))
        .Build();

    public static MaasReference Reference(IModel model, string endpoint, string? artifact = null) => new()
    {
        Uuid = model.Info.Uuid,
        Endpoint = endpoint,
        Version = model.Info.Version,
        Checksum = ModelChecksum.Compute(model.Info, artifact),
        Metadata = new MaasReferenceMetadata { Doi = model.Info.Doi, Description = model.Info.Description, Authors = [.. model.Info.Authors], Artifact = artifact },
    };

    public static string TempPath(string name) => Path.Combine(Path.GetTempPath(), $"maas-reg-{Guid.NewGuid():N}-{name}");
}
