using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Demos.Maas.Registry;

/// <summary>The registry's REST routes (docs/registry.md): hand-written request delegates and source-generated JSON, so they run under NativeAOT.</summary>
internal sealed class RegistryEndpoints(IRegistryStore store)
{
    public void Map(IEndpointRouteBuilder v1, string writePolicy)
    {
        v1.MapPost("/models", new RequestDelegate(RegisterAsync)).RequireAuthorization(writePolicy);
        v1.MapDelete("/models/{uuid}/endpoints", new RequestDelegate(DeregisterAsync)).RequireAuthorization(writePolicy);
        v1.MapGet("/models", new RequestDelegate(SearchAsync));
        v1.MapGet("/models/{uuid}/versions", new RequestDelegate(VersionsAsync));
        v1.MapGet("/resolve/{id}", new RequestDelegate(ResolveAsync));
        v1.MapGet("/endpoints", new RequestDelegate(EndpointsAsync));
    }

    private Task RegisterAsync(HttpContext context) => GuardAsync(context, async () =>
    {
        RegistrationRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, RegistryJsonContext.Default.RegistrationRequest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new RegistryException(RegistryError.MalformedReference, $"The registration is not valid JSON: {ex.Message}", ex.Path);
        }

        if (request is null)
        {
            throw new RegistryException(RegistryError.MalformedReference, "The registration body is empty.");
        }

        // Validated as a document, so the error names the field just as `maas ref verify` would.
        var reference = MaasReferenceJson.Parse(JsonSerializer.Serialize(request.Reference, RegistryJsonContext.Default.MaasReference));
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw new RegistryException(RegistryError.MalformedReference, "registration: field 'name': expected the model's display name.", "name");
        }

        foreach (var endpoint in request.Endpoints)
        {
            if (!Uri.TryCreate(endpoint.Uri, UriKind.Absolute, out _))
            {
                throw new RegistryException(RegistryError.MalformedReference, $"registration: field 'endpoints[].uri': expected an absolute URI, got \"{endpoint.Uri}\".", "endpoints");
            }
        }

        bool created = await store.RegisterVersionAsync(request.Name, reference, context.RequestAborted).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        foreach (var endpoint in request.Endpoints)
        {
            await store.AddEndpointAsync(reference.Uuid, reference.Version, endpoint, now, context.RequestAborted).ConfigureAwait(false);
        }

        var resolution = await ResolveCoreAsync(reference.Uuid, reference.Version, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, created ? StatusCodes.Status201Created : StatusCodes.Status200OK, resolution, RegistryJsonContext.Default.ModelResolution).ConfigureAwait(false);
    });

    private Task DeregisterAsync(HttpContext context) => GuardAsync(context, async () =>
    {
        var uuid = UuidFrom(context.Request.RouteValues["uuid"] as string);
        string? uri = context.Request.Query["uri"];
        if (string.IsNullOrEmpty(uri))
        {
            throw new RegistryException(RegistryError.MalformedReference, "deregister: query 'uri': expected the endpoint's address.", "uri");
        }

        string? version = context.Request.Query["version"];
        bool removed = await store.RemoveEndpointAsync(uuid, string.IsNullOrEmpty(version) ? null : version, uri, context.RequestAborted).ConfigureAwait(false);
        if (!removed)
        {
            throw new RegistryException(RegistryError.UnknownModel, $"No endpoint {uri} is registered for {uuid}{(string.IsNullOrEmpty(version) ? "" : "@" + version)}.");
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    });

    private Task SearchAsync(HttpContext context) => GuardAsync(context, async () =>
    {
        var query = context.Request.Query;
        var found = await store.SearchAsync(query["q"], query["author"], query["doi"], context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, StatusCodes.Status200OK, found.ToList(), RegistryJsonContext.Default.ListModelSummary).ConfigureAwait(false);
    });

    private Task VersionsAsync(HttpContext context) => GuardAsync(context, async () =>
    {
        var uuid = UuidFrom(context.Request.RouteValues["uuid"] as string);
        var versions = await store.ListVersionsAsync(uuid, context.RequestAborted).ConfigureAwait(false);
        if (versions.Count == 0)
        {
            throw Unknown(uuid, null);
        }

        await WriteAsync(context, StatusCodes.Status200OK, versions.ToList(), RegistryJsonContext.Default.ListModelVersionRecord).ConfigureAwait(false);
    });

    private Task ResolveAsync(HttpContext context) => GuardAsync(context, async () =>
    {
        var (uuid, version) = ModelAddress.Parse(context.Request.RouteValues["id"] as string ?? "");
        var resolution = await ResolveCoreAsync(uuid, version, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, StatusCodes.Status200OK, resolution, RegistryJsonContext.Default.ModelResolution).ConfigureAwait(false);
    });

    private Task EndpointsAsync(HttpContext context) => GuardAsync(context, async () =>
    {
        var endpoints = await store.ListEndpointsAsync(null, null, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, StatusCodes.Status200OK, endpoints.ToList(), RegistryJsonContext.Default.ListEndpointRecord).ConfigureAwait(false);
    });

    private async Task<ModelResolution> ResolveCoreAsync(Guid uuid, string? version, CancellationToken cancellationToken)
    {
        var record = await store.GetVersionAsync(uuid, version, cancellationToken).ConfigureAwait(false) ?? throw Unknown(uuid, version);
        var endpoints = await store.ListEndpointsAsync(uuid, record.Reference.Version, cancellationToken).ConfigureAwait(false);
        return new ModelResolution { Name = record.Name, Reference = record.Reference, Endpoints = EndpointPreference.Order(endpoints) };
    }

    private static RegistryException Unknown(Guid uuid, string? version) =>
        new(RegistryError.UnknownModel, version is null ? $"No model with uuid {uuid} is registered." : $"Model {uuid} has no version {version} registered.");

    private static Guid UuidFrom(string? text) => ModelAddress.Parse(text ?? "").Uuid;

    private static async Task GuardAsync(HttpContext context, Func<Task> handler)
    {
        try
        {
            await handler().ConfigureAwait(false);
        }
        catch (RegistryException ex)
        {
            int status = ex.Error switch
            {
                RegistryError.MalformedReference => StatusCodes.Status400BadRequest,
                RegistryError.UnknownModel => StatusCodes.Status404NotFound,
                RegistryError.VersionConflict or RegistryError.ChecksumMismatch => StatusCodes.Status409Conflict,
                RegistryError.Unauthenticated => StatusCodes.Status401Unauthorized,
                _ => StatusCodes.Status503ServiceUnavailable,
            };
            var body = new RegistryErrorBody { Error = ex.Error.ToString(), Field = ex.Field, Message = ex.Message };
            await WriteAsync(context, status, body, RegistryJsonContext.Default.RegistryErrorBody).ConfigureAwait(false);
        }
    }

    private static async Task WriteAsync<T>(HttpContext context, int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted).ConfigureAwait(false);
    }
}
