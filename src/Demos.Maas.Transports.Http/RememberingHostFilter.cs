using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Demos.Maas.Transports.Http;

/// <summary>
/// ASP.NET Core's host filtering, with the last Host value it let through remembered: a request
/// with exactly that value goes on without being matched against the allowed hosts again.
/// </summary>
/// <remarks>
/// The filter's answer depends only on the Host value and its options, and the host's options are
/// set once in code (no configuration source can reload them), so a value that passed once passes
/// again. One slot, not a set: with a wildcard among the allowed hosts, a set of remembered values
/// could be grown without bound by the callers. Keep-alive callers send the same Host on every
/// request; a match saves the filter's parsing and list walk, about 0.2 µs a request here, which a
/// caller that sleeps while it waits feels several times over (docs/http.md, performance).
/// </remarks>
internal sealed class RememberingHostFilter
{
    private readonly RequestDelegate _next;
    private readonly HostFilteringMiddleware _filter;
    private string? _lastAccepted;

    public RememberingHostFilter(RequestDelegate next, ILoggerFactory loggers, IOptionsMonitor<HostFilteringOptions> options)
    {
        _next = next;
        _filter = new HostFilteringMiddleware(Accepted, loggers.CreateLogger<HostFilteringMiddleware>(), options);
    }

    public Task InvokeAsync(HttpContext context) =>
        SingleHost(context) is { } host && string.Equals(host, Volatile.Read(ref _lastAccepted), StringComparison.Ordinal)
            ? _next(context)
            : _filter.Invoke(context);

    // Only requests the filter let through get here.
    private Task Accepted(HttpContext context)
    {
        if (SingleHost(context) is { } host)
        {
            Volatile.Write(ref _lastAccepted, host);
        }

        return _next(context);
    }

    // The one non-empty Host value of the request; null for none, an empty one or several.
    private static string? SingleHost(HttpContext context) =>
        context.Request.Headers.Host is { Count: 1 } host && host[0] is { Length: > 0 } value ? value : null;
}
