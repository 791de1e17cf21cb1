using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace Demos.Maas.Registry;

/// <summary>The registry's web page at <c>/</c>: its models, their versions, endpoints and health, searchable (<c>?q=</c>). Plain server-rendered HTML, no script.</summary>
internal static class RegistryPage
{
    public static async Task WriteAsync(HttpContext context, IRegistryStore store)
    {
        string? q = context.Request.Query["q"];
        var models = await store.SearchAsync(q, null, null, context.RequestAborted).ConfigureAwait(false);
        var endpoints = (await store.ListEndpointsAsync(null, null, context.RequestAborted).ConfigureAwait(false)).ToLookup(e => e.Uuid);
        var html = HtmlEncoder.Default;
        var page = new StringBuilder();
        page.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>MaaS registry</title>
            <style>
            body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%;margin-bottom:1.5em}
            th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#eef}
            .Healthy{color:#080;font-weight:bold}.Unhealthy{color:#b00;font-weight:bold}.Unknown{color:#777}
            code{font-size:90%}
            </style></head><body>
            <h1>MaaS registry</h1>
            <form method="get" action="/"><input type="search" name="q" placeholder="name, author, DOI, uuid" value="
            """);
        page.Append(html.Encode(q ?? "")).Append("\"> <button type=\"submit\">Search</button></form>\n");
        page.Append(CultureInfo.InvariantCulture, $"<p id=\"count\">{models.Count} model(s)</p>\n");
        foreach (var model in models)
        {
            page.Append(CultureInfo.InvariantCulture, $"<h2>{html.Encode(model.Name)} <small>{html.Encode(model.LatestVersion)}</small></h2>\n");
            page.Append(CultureInfo.InvariantCulture, $"<p><code>{model.Uuid:D}</code> · versions: {html.Encode(string.Join(", ", model.Versions))}");
            if (model.Metadata.Doi is { } doi)
            {
                page.Append(CultureInfo.InvariantCulture, $" · doi: {html.Encode(doi)}");
            }

            page.Append(CultureInfo.InvariantCulture, $"<br>{html.Encode(model.Metadata.Description ?? "")} — {html.Encode(string.Join(", ", model.Metadata.Authors))}</p>\n");
            page.Append("<table><tr><th>version</th><th>endpoint</th><th>transport</th><th>region</th><th>health</th><th>latency</th><th>last seen</th></tr>\n");
            foreach (var e in endpoints[model.Uuid])
            {
                page.Append(CultureInfo.InvariantCulture, $"<tr><td>{html.Encode(e.Version)}</td><td><code>{html.Encode(e.Uri)}</code></td><td>{html.Encode(e.Transport)}</td><td>{html.Encode(e.Region ?? "")}</td>");
                page.Append(CultureInfo.InvariantCulture, $"<td class=\"{e.Health}\">{e.Health}</td><td>{(e.LatencyMs is { } l ? l.ToString("0.0", CultureInfo.InvariantCulture) + " ms" : "")}</td><td>{e.LastSeen?.ToString("u", CultureInfo.InvariantCulture)}</td></tr>\n");
            }

            page.Append("</table>\n");
        }

        page.Append("</body></html>\n");
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(page.ToString(), context.RequestAborted).ConfigureAwait(false);
    }
}
