using Demos.Maas.Client;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;

namespace Demos.Maas.Registry;

/// <summary>
/// <c>maas://&lt;uuid&gt;[@version]</c> for clients: resolves the model through a registry (or a local
/// reference file), connects to its preferred live endpoint with the client's other transports
/// (healthy first, then inproc, pipe, tcp, http), checks that what answers is what the reference names
/// (uuid, version, checksum) before any call, and fails over to the next endpoint when one dies.
/// </summary>
public sealed class RegistryTransport(RegistryResolverOptions? options = null) : IMaasCallInvokerFactory
{
    private readonly RegistryResolverOptions _options = options ?? new RegistryResolverOptions();

    /// <inheritdoc/>
    public bool CanHandle(Uri uri) => uri?.Scheme == ModelAddress.Scheme;

    /// <inheritdoc/>
    public async ValueTask<MaasCallInvoker> ConnectAsync(Uri uri, MaasClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(options);
        var (uuid, version) = ModelAddress.FromUri(uri);
        var resolution = await ResolveAsync(uuid, version, cancellationToken).ConfigureAwait(false);

        // The endpoints are reached with the client's other transports; never this one again.
        var inner = options.Clone();
        inner.Transports.Clear();
        foreach (var transport in options.Transports.Where(t => t is not RegistryTransport))
        {
            inner.Transports.Add(transport);
        }

        var candidates = Candidates(resolution, inner);
        if (candidates.Count == 0)
        {
            throw new RegistryException(RegistryError.RegistryUnavailable, $"{uuid}@{resolution.Reference.Version} has no endpoint this client can reach (registered: {string.Join(", ", resolution.Endpoints.Select(e => e.Uri).DefaultIfEmpty("none"))}).");
        }

        var invoker = new RegistryCallInvoker(uri, resolution.Reference, candidates, inner);
        await invoker.ConnectFirstAsync(cancellationToken).ConfigureAwait(false);
        return invoker;
    }

    /// <summary>What <paramref name="uuid"/> (at <paramref name="version"/>, or the latest) resolves to, from the configured registry or reference files.</summary>
    /// <exception cref="RegistryException">MalformedReference, UnknownModel, RegistryUnavailable.</exception>
    public async Task<ModelResolution> ResolveAsync(Guid uuid, string? version, CancellationToken cancellationToken = default)
    {
        string source = _options.Registry ?? Environment.GetEnvironmentVariable(RegistryResolverOptions.EnvironmentVariable)
            ?? throw new RegistryException(RegistryError.RegistryUnavailable, $"maas:// needs a registry: set {RegistryResolverOptions.EnvironmentVariable} to a registry URL (http://host:port) or a maas_reference file or directory.");
        if (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            using var client = new RegistryClient(new Uri(source), http: _options.Http);
            return await client.ResolveAsync(uuid, version, cancellationToken).ConfigureAwait(false);
        }

        return LocalReferences.Resolve(source, uuid, version);
    }

    /// <summary>
    /// The servers a registry lists for <c>maas://uuid[@version]</c>, preferred first, without those the
    /// health monitor found dead (unless all are): the <see cref="LoadSpreadOptions.Resolve"/> of a
    /// load-spreading client, which asks again periodically to pick up servers that join later.
    /// </summary>
    /// <exception cref="RegistryException">MalformedReference, UnknownModel, RegistryUnavailable.</exception>
    public async Task<IReadOnlyList<Uri>> ResolveEndpointsAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var (uuid, version) = ModelAddress.FromUri(uri);
        var resolution = await ResolveAsync(uuid, version, cancellationToken).ConfigureAwait(false);
        var ordered = EndpointPreference.Order(resolution.Endpoints);
        var live = ordered.Where(e => e.Health != EndpointHealth.Unhealthy).ToList();
        var list = new List<Uri>();
        foreach (var endpoint in live.Count > 0 ? live : ordered)
        {
            if (Uri.TryCreate(endpoint.Uri, UriKind.Absolute, out var u) && !list.Contains(u))
            {
                list.Add(u);
            }
        }

        return list;
    }

    /// <summary>Load-spread settings whose <see cref="LoadSpreadOptions.Resolve"/> asks this registry (a copy of <paramref name="spread"/>, or the defaults).</summary>
    public LoadSpreadOptions LoadSpread(LoadSpreadOptions? spread = null)
    {
        var copy = (spread ?? new LoadSpreadOptions()).Clone();
        copy.Resolve = ResolveEndpointsAsync;
        return copy;
    }

    private static List<Uri> Candidates(ModelResolution resolution, MaasClientOptions inner)
    {
        bool Speaks(Uri u) => u.Scheme == "inproc" || inner.Transports.Any(t => t.CanHandle(u));
        var ordered = EndpointPreference.Order(resolution.Endpoints);

        // An endpoint the monitor found dead is skipped while any other might answer; when all are down it is the last resort.
        var live = ordered.Where(e => e.Health != EndpointHealth.Unhealthy).Concat(ordered.Where(e => e.Health == EndpointHealth.Unhealthy));
        var list = new List<Uri>();
        foreach (var endpoint in live)
        {
            if (Uri.TryCreate(endpoint.Uri, UriKind.Absolute, out var u) && Speaks(u) && !list.Contains(u))
            {
                list.Add(u);
            }
        }

        return list;
    }

    /// <summary>The uuid and version (null: the latest) a <c>maas://uuid[@version]</c> URI names.</summary>
    /// <exception cref="RegistryException">MalformedReference.</exception>
    public static (Guid Uuid, string? Version) ParseAddress(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return ModelAddress.FromUri(uri);
    }

    /// <summary>Checks, with an Info call, that the model an endpoint serves is the one <paramref name="reference"/> names: uuid, version, and the checksum recomputed from its info.</summary>
    /// <exception cref="RegistryException">ChecksumMismatch.</exception>
    public static async Task VerifyAsync(MaasCallInvoker invoker, MaasReference reference, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(reference);
        var response = await invoker.UnaryCallAsync(new MaasRequest { Operation = Operation.Info, Model = reference.Uuid.ToString("D") }, timeout, cancellationToken).ConfigureAwait(false);
        var info = response.Info ?? throw new MaasException(MaasErrorCode.ProtocolError, "Info answered without info.");
        string where = invoker.Uri.ToString();
        if (info.Uuid != reference.Uuid || info.Version != reference.Version)
        {
            throw new RegistryException(RegistryError.ChecksumMismatch, $"{where} serves {info.Uuid}@{info.Version}, not {reference.Uuid}@{reference.Version} as the reference names.", "version");
        }

        string checksum = ModelChecksum.Compute(info, reference.Metadata.Artifact);
        if (checksum != reference.Checksum)
        {
            throw new RegistryException(RegistryError.ChecksumMismatch, $"{where} serves {reference.Uuid}@{reference.Version} with checksum {checksum}; the reference names {reference.Checksum}. It is not the model the reference cites.", "checksum");
        }
    }
}
