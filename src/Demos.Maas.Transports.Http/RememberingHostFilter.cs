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

    public Task InvokeAsync(HttpContext context)
    {
        var host = context.Request.Headers.Host;
        return host.Count == 1 && host[0] is { Length: > 0 } value && string.Equals(value, Volatile.Read(ref _lastAccepted), StringComparison.Ordinal)
            ? _next(context)
            : _filter.Invoke(context);
    }

    // Only requests the filter let through get here.
    private Task Accepted(HttpContext context)
    {
        var host = context.Request.Headers.Host;
        if (host.Count == 1 && host[0] is { Length: > 0 } value)
        {
            Volatile.Write(ref _lastAccepted, value);
        }

        return _next(context);
    }
}
