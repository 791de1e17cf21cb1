namespace Demos.Maas.Registry;

/// <summary>Resolution without a registry: a <c>maas_reference</c> file, or a directory of them, names the endpoint.</summary>
internal static class LocalReferences
{
    public static ModelResolution Resolve(string path, Guid uuid, string? version)
    {
        IEnumerable<string> files = Directory.Exists(path) ? Directory.EnumerateFiles(path, "*.json")
            : File.Exists(path) ? [path]
            : throw new RegistryException(RegistryError.RegistryUnavailable, $"The registry '{path}' is neither a URL (http://host:port) nor an existing maas_reference file or directory.");
        var matches = files.Select(MaasReferenceJson.Load).Where(r => r.Uuid == uuid && (version is null || r.Version == version)).ToList();
        string? latest = SemanticVersion.Latest(matches.Select(r => r.Version));
        var reference = matches.FirstOrDefault(r => r.Version == latest)
            ?? throw new RegistryException(RegistryError.UnknownModel, version is null ? $"No reference in '{path}' names model {uuid}." : $"No reference in '{path}' names model {uuid} version {version}.");
        return new ModelResolution
        {
            Name = uuid.ToString("D"),
            Reference = reference,
            Endpoints = [new EndpointRecord { Uuid = uuid, Version = reference.Version, Uri = reference.Endpoint, Transport = new Uri(reference.Endpoint).Scheme }],
        };
    }
}
