using System.Collections.Concurrent;
using Demos.Maas.Client;

namespace Demos.Maas.Native;

/// <summary>What a client handle points to: a <see cref="MaasClient"/> and the remote models it has looked up by name.</summary>
internal sealed class NativeClient
{
    private readonly ConcurrentDictionary<string, RemoteModel> _models = new(StringComparer.Ordinal);

    private NativeClient(MaasClient client) => Client = client;

    public MaasClient Client { get; }

    /// <summary>Connects (blocking) with the options in <paramref name="optionsJson"/> (see demos_maas.h).</summary>
    public static NativeClient Connect(string uri, string? optionsJson)
    {
        var options = new MaasClientOptions();
        Security.MaasTlsOptions? tls = null;
        if (!string.IsNullOrWhiteSpace(optionsJson))
        {
            using var document = NativeJson.Parse(optionsJson, "Client options");
            var root = document.RootElement;
            if (root.TryGetProperty("tls", out var tlsSection)) { tls = Security.MaasSecurityJson.ReadTls(tlsSection); }
            if (NativeJson.Long(root, "timeout_ms") is { } timeout && timeout > 0) { options.DefaultTimeout = TimeSpan.FromMilliseconds(timeout); }
            if (NativeJson.Long(root, "connect_timeout_ms") is { } connect && connect > 0) { options.ConnectTimeout = TimeSpan.FromMilliseconds(connect); }
            if (NativeJson.Long(root, "max_frame_bytes") is { } frame && frame > 0) { options.MaxFrameBytes = (int)Math.Min(frame, int.MaxValue); }
            if (NativeJson.Bool(root, "reconnect") is { } reconnect) { options.Reconnect = reconnect; }
            if (NativeJson.Bool(root, "retry") == false) { options.Retry = null; }
            if (NativeJson.String(root, "credentials") is { } credentials) { options.Credentials = credentials; }
            if (NativeJson.String(root, "agent") is { } agent) { options.Agent = agent; }
        }

        foreach (var transport in StandardTransports.Create(tls))
        {
            options.Transports.Add(transport);
        }

        return new NativeClient(MaasClient.ConnectAsync(uri, options).GetAwaiter().GetResult());
    }

    /// <summary>The remote model called <paramref name="name"/> (looked up once, then cached).</summary>
    public RemoteModel Model(string name)
    {
        if (_models.TryGetValue(name, out var model))
        {
            return model;
        }

        model = Client.GetModelAsync(name).GetAwaiter().GetResult();
        return _models.GetOrAdd(name, model);
    }

    public void Close() => Client.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
