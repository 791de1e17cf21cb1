using System.Globalization;

namespace Demos.Maas.Client;

/// <summary>
/// A <c>maas+lb://</c> address: one model at several endpoints, for a <see cref="MultiEndpointModel"/>.
/// <c>maas+lb:///MODEL?e=URI&amp;e=URI[&amp;eject_after=N][&amp;eject_ms=MS][&amp;refresh_s=S]</c>: MODEL is the
/// model's name or uuid; each <c>e</c> is a server address (<c>tcp://</c>, <c>pipe://</c>, <c>http://</c>…,
/// percent-encoded when it holds <c>&amp;</c> or <c>#</c>), <c>maas://uuid[@version]</c>, which stands
/// for every server a registry lists for that model (then MODEL may be left out), or
/// <c>dns+tcp://name:port</c>, which stands for a <c>tcp://</c> server at each address of the name.
/// </summary>
/// <param name="Model">The model's name or uuid.</param>
/// <param name="Endpoints">The endpoints in the order given.</param>
/// <param name="Options">The load-spread settings, with those the address sets.</param>
public sealed record LoadSpreadAddress(string Model, IReadOnlyList<Uri> Endpoints, LoadSpreadOptions Options)
{
    /// <summary>The scheme, <c>maas+lb</c>.</summary>
    public const string Scheme = "maas+lb";

    /// <summary>Reads a <c>maas+lb://</c> address; settings it does not name come from <paramref name="defaults"/>.</summary>
    /// <exception cref="MaasException">InvalidArgument saying what is wrong.</exception>
    public static LoadSpreadAddress Parse(string address, LoadSpreadOptions? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.StartsWith(Scheme + "://", StringComparison.OrdinalIgnoreCase))
        {
            throw MaasException.InvalidArgument($"'{address}' is not a {Scheme}:// address ({Scheme}:///MODEL?e=URI&e=URI).");
        }

        string rest = address[(Scheme.Length + 3)..];
        int query = rest.IndexOf('?', StringComparison.Ordinal);
        string authorityAndPath = query < 0 ? rest : rest[..query];
        if (!authorityAndPath.StartsWith('/') && authorityAndPath.Length > 0)
        {
            throw MaasException.InvalidArgument($"'{address}': a {Scheme}:// address takes no host ('{authorityAndPath.Split('/')[0]}'); write {Scheme}:///MODEL?e=URI.");
        }

        string model = Uri.UnescapeDataString(authorityAndPath.Trim('/'));
        if (model.Contains('/', StringComparison.Ordinal))
        {
            throw MaasException.InvalidArgument($"'{address}': the path must be one model name or uuid, not '{model}'.");
        }

        var options = (defaults ?? new LoadSpreadOptions()).Clone();
        var endpoints = new List<Uri>();
        string? registryModel = null;
        foreach (var pair in (query < 0 ? "" : rest[(query + 1)..]).Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? pair : pair[..eq];
            string value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key)
            {
                case "e":
                    var endpoint = Endpoint(address, value);
                    endpoints.Add(endpoint);
                    if (endpoint.Scheme == "maas")
                    {
                        // maas://uuid[@version]: the model is the uuid (the '@' makes it the URI's user part).
                        registryModel ??= value["maas://".Length..].Split('@', '/', '?')[0];
                    }

                    break;
                case "eject_after":
                    options.EjectAfterFailures = Positive(address, key, value);
                    break;
                case "eject_ms":
                    options.EjectionTime = TimeSpan.FromMilliseconds(Positive(address, key, value));
                    options.MaxEjectionTime = options.MaxEjectionTime < options.EjectionTime ? options.EjectionTime : options.MaxEjectionTime;
                    break;
                case "refresh_s":
                    options.RefreshInterval = TimeSpan.FromSeconds(Positive(address, key, value));
                    break;
                default:
                    throw MaasException.InvalidArgument($"'{address}': unknown setting '{key}' (known: e, eject_after, eject_ms, refresh_s).");
            }
        }

        if (endpoints.Count == 0)
        {
            throw MaasException.InvalidArgument($"'{address}' names no endpoint: add e=URI (repeatable).");
        }

        if (model.Length == 0)
        {
            model = registryModel ?? throw MaasException.InvalidArgument($"'{address}' names no model: write {Scheme}:///MODEL?e=…, or give a maas://uuid endpoint.");
        }

        options.Validate();
        return new LoadSpreadAddress(model, endpoints, options);
    }

    /// <summary>True for a <c>maas+lb://</c> address.</summary>
    public static bool IsLoadSpread(string address) =>
        address is not null && address.StartsWith(Scheme + "://", StringComparison.OrdinalIgnoreCase);

    private static Uri Endpoint(string address, string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme.Length == 0 || value.IndexOf("://", StringComparison.Ordinal) < 0)
        {
            throw MaasException.InvalidArgument($"'{address}': endpoint '{value}' is not an absolute URI such as tcp://127.0.0.1:5000 or pipe:///tmp/m.sock.");
        }

        if (uri.Scheme == Scheme)
        {
            throw MaasException.InvalidArgument($"'{address}': endpoint '{value}' is itself a {Scheme}:// address; list the servers instead.");
        }

        return uri;
    }

    private static int Positive(string address, string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw MaasException.InvalidArgument($"'{address}': {key} must be a positive integer, not '{value}'.");
}
