using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Demos.Maas.Registry;

/// <summary>A client of a registry's REST API (docs/registry.md). Every failure is a <see cref="RegistryException"/>.</summary>
public sealed class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _base;

    /// <summary>A client of the registry at <paramref name="registry"/> (<c>http://host:port</c>); <paramref name="key"/> authorises writes.</summary>
    public RegistryClient(Uri registry, string? key = null, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _base = new Uri(registry.ToString().TrimEnd('/') + "/");
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Key = key;
    }

    /// <summary>The write key, or null for a read-only client.</summary>
    public string? Key { get; }

    /// <summary>The registry's address.</summary>
    public Uri Registry => _base;

    /// <summary>Registers a version and its endpoints (again: a heartbeat); returns what the version now resolves to.</summary>
    public Task<ModelResolution> RegisterAsync(RegistrationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new StringContent(JsonSerializer.Serialize(request, RegistryJsonContext.Default.RegistrationRequest), Encoding.UTF8, "application/json");
        return SendAsync(HttpMethod.Post, "v1/models", body, RegistryJsonContext.Default.ModelResolution, cancellationToken);
    }

    /// <summary>Removes an endpoint (of one version, or of all when <paramref name="version"/> is null).</summary>
    public async Task DeregisterAsync(Guid uuid, string? version, string uri, CancellationToken cancellationToken = default)
    {
        string path = $"v1/models/{uuid:D}/endpoints?uri={Uri.EscapeDataString(uri)}" + (version is null ? "" : $"&version={Uri.EscapeDataString(version)}");
        await SendAsync<object>(HttpMethod.Delete, path, null, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The version (latest when null) and its endpoints, preferred first.</summary>
    public Task<ModelResolution> ResolveAsync(Guid uuid, string? version = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, $"v1/resolve/{uuid:D}{(version is null ? "" : "@" + Uri.EscapeDataString(version))}", null, RegistryJsonContext.Default.ModelResolution, cancellationToken);

    /// <summary>Models matching free <paramref name="text"/>, an author and a DOI (each optional).</summary>
    public async Task<IReadOnlyList<ModelSummary>> SearchAsync(string? text = null, string? author = null, string? doi = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        AddQuery(query, "q", text);
        AddQuery(query, "author", author);
        AddQuery(query, "doi", doi);
        return await SendAsync(HttpMethod.Get, "v1/models" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), null, RegistryJsonContext.Default.ListModelSummary, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every version of a model, lowest first.</summary>
    public async Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(Guid uuid, CancellationToken cancellationToken = default) =>
        await SendAsync(HttpMethod.Get, $"v1/models/{uuid:D}/versions", null, RegistryJsonContext.Default.ListModelVersionRecord, cancellationToken).ConfigureAwait(false);

    /// <summary>Every registered endpoint with its health.</summary>
    public async Task<IReadOnlyList<EndpointRecord>> ListEndpointsAsync(CancellationToken cancellationToken = default) =>
        await SendAsync(HttpMethod.Get, "v1/endpoints", null, RegistryJsonContext.Default.ListEndpointRecord, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static void AddQuery(List<string> query, string name, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            query.Add($"{name}={Uri.EscapeDataString(value)}");
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T>? type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(_base, path)) { Content = content };
        if (Key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new RegistryException(RegistryError.RegistryUnavailable, $"The registry at {_base} cannot be reached: {ex.Message}", null, ex);
        }

        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                throw new RegistryException(RegistryError.Unauthenticated, Key is null
                    ? $"The registry at {_base} takes writes only with its key (--key or MAAS_REGISTRY_KEY)."
                    : $"The registry at {_base} refused the key.");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw ErrorFrom(response.StatusCode, body);
            }

            if (type is null)
            {
                return default!;
            }

            try
            {
                return JsonSerializer.Deserialize(body, type) ?? throw new JsonException("empty answer");
            }
            catch (JsonException ex)
            {
                throw new RegistryException(RegistryError.RegistryUnavailable, $"The registry at {_base} answered {path} with something that is not a registry answer: {ex.Message}", null, ex);
            }
        }
    }

    private RegistryException ErrorFrom(HttpStatusCode status, string body)
    {
        try
        {
            if (JsonSerializer.Deserialize(body, RegistryJsonContext.Default.RegistryErrorBody) is { } error && Enum.TryParse<RegistryError>(error.Error, out var kind))
            {
                return new RegistryException(kind, error.Message, error.Field);
            }
        }
        catch (JsonException)
        {
            // Not the registry's error body (a proxy's page, say): reported by status below.
        }

        return new RegistryException(RegistryError.RegistryUnavailable, $"The registry at {_base} answered {(int)status} {status}.");
    }
}
