using Demos.Maas.Server;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Native;

/// <summary>What a server handle points to: a <see cref="MaasServer"/>, its listen URIs and the serve/stop state.</summary>
internal sealed class NativeServer
{
    private readonly Lock _lock = new();
    private readonly List<string> _listen = [];
    private readonly List<Uri> _endpoints = [];
    private readonly ManualResetEventSlim _stopped = new(false);
    private readonly StderrLoggerFactory _loggers;
    private bool _started;

    private NativeServer(MaasServer server, IEnumerable<string> listen, int workers, StderrLoggerFactory loggers)
    {
        Server = server;
        _listen.AddRange(listen);
        Workers = workers;
        _loggers = loggers;
    }

    public MaasServer Server { get; }

    /// <summary>Most callbacks of one model running at once (0 = no limit).</summary>
    public int Workers { get; }

    public bool IsStopped => _stopped.IsSet;

    /// <summary>Makes a server from its JSON configuration (see demos_maas.h).</summary>
    public static NativeServer Create(string? configJson)
    {
        var options = new MaasServerOptions();
        var listen = new List<string>();
        int workers = 0;
        var level = LogLevel.Warning;
        Security.MaasTlsOptions? tls = null;
        if (!string.IsNullOrWhiteSpace(configJson))
        {
            using var document = NativeJson.Parse(configJson, "Server configuration");
            var root = document.RootElement;
            if (root.TryGetProperty("listen", out var l))
            {
                if (l.ValueKind == System.Text.Json.JsonValueKind.String) { listen.Add(l.GetString()!); }
                else if (l.ValueKind == System.Text.Json.JsonValueKind.Array) { listen.AddRange(l.EnumerateArray().Select(u => u.GetString() ?? throw new MaasException(MaasErrorCode.InvalidArgument, "Server configuration: 'listen' must hold strings."))); }
                else { throw new MaasException(MaasErrorCode.InvalidArgument, "Server configuration: 'listen' must be a URI or an array of URIs."); }
            }

            if (NativeJson.Long(root, "workers") is { } w) { workers = w >= 0 ? (int)Math.Min(w, 4096) : throw new MaasException(MaasErrorCode.InvalidArgument, "Server configuration: 'workers' is negative."); }
            if (NativeJson.Long(root, "max_frame_bytes") is { } frame) { options.MaxFrameBytes = frame > 0 ? (int)Math.Min(frame, int.MaxValue) : throw new MaasException(MaasErrorCode.InvalidArgument, "Server configuration: 'max_frame_bytes' must be positive."); }
            if (NativeJson.Long(root, "max_in_flight") is { } inFlight) { options.MaxInFlightPerConnection = inFlight > 0 ? (int)Math.Min(inFlight, int.MaxValue) : throw new MaasException(MaasErrorCode.InvalidArgument, "Server configuration: 'max_in_flight' must be positive."); }
            if (NativeJson.Long(root, "drain_ms") is { } drain) { options.DrainTimeout = TimeSpan.FromMilliseconds(Math.Max(0, drain)); }

            // The same "security" and "tls" sections as maas serve's configuration (docs/security.md).
            if (root.TryGetProperty("security", out var security)) { options.Security = Security.MaasSecurityJson.Read(security); }
            if (root.TryGetProperty("tls", out var tlsSection)) { tls = Security.MaasSecurityJson.ReadTls(tlsSection); }
            if (NativeJson.Bool(root, "insecure") is { } insecure) { options.AllowInsecure = insecure; }
            if (NativeJson.String(root, "log_level") is { } logLevel)
            {
                level = logLevel.ToLowerInvariant() switch
                {
                    "none" or "off" => LogLevel.None,
                    "error" => LogLevel.Error,
                    "warning" or "warn" => LogLevel.Warning,
                    "info" or "information" => LogLevel.Information,
                    "debug" => LogLevel.Debug,
                    "trace" => LogLevel.Trace,
                    _ => throw new MaasException(MaasErrorCode.InvalidArgument, $"Server configuration: log_level '{logLevel}' is not none, error, warning, info, debug or trace."),
                };
            }
        }

        var loggers = new StderrLoggerFactory(level);
        var server = new MaasServer(options, StandardTransports.Create(tls), loggers);
        return new NativeServer(server, listen, workers, loggers);
    }

    /// <summary>Binds every configured URI (once); later calls do nothing.</summary>
    public void Start()
    {
        lock (_lock)
        {
            // Started first: a thread that calls serve after another thread already stopped the server returns at once instead of failing.
            if (_started) { return; }
            if (_stopped.IsSet) { throw new MaasException(MaasErrorCode.InvalidArgument, "The server was stopped; create a new one."); }
            if (_listen.Count == 0) { throw new MaasException(MaasErrorCode.InvalidArgument, "The server has no listen URI: set \"listen\" in its configuration or call maas_server_listen."); }
            foreach (var uri in _listen)
            {
                _endpoints.Add(Server.ListenAsync(uri).GetAwaiter().GetResult());
            }

            _started = true;
        }
    }

    /// <summary>Binds one more URI now; returns the bound address (a tcp port 0 becomes the real port).</summary>
    public Uri Listen(string uri)
    {
        lock (_lock)
        {
            if (_stopped.IsSet) { throw new MaasException(MaasErrorCode.InvalidArgument, "The server was stopped; create a new one."); }
            var bound = Server.ListenAsync(uri).GetAwaiter().GetResult();
            _endpoints.Add(bound);
            _started = true;
            return bound;
        }
    }

    public IReadOnlyList<Uri> Endpoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _endpoints];
            }
        }
    }

    /// <summary>Blocks until <see cref="Stop"/> (from another thread or a callback).</summary>
    public void Serve()
    {
        Start();
        _stopped.Wait();
    }

    /// <summary>Graceful stop: drains running calls, closes listeners; wakes <see cref="Serve"/>.</summary>
    public void Stop()
    {
        try
        {
            Server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            _stopped.Set();
            _loggers.Dispose();
        }
    }
}
