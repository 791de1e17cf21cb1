using System.Text.Json;
using Demos.Maas.Middleware;
using Demos.Maas.Server;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Cli;

/// <summary>
/// The JSON configuration of <c>maas serve --config FILE</c> (deploy/config/maas.json is a template).
/// Command-line flags add to it (listen URIs, models) or override it (limits, log level).
/// </summary>
internal sealed class ServeConfiguration
{
    public List<string> Listen { get; } = [];

    public List<string> Models { get; } = [];

    public List<string> Assemblies { get; } = [];

    public List<string> NativeModels { get; } = [];

    public MaasServerOptions Server { get; } = new();

    /// <summary>Certificates of tls:// and https:// listeners.</summary>
    public Security.MaasTlsOptions? Tls { get; set; }

    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    public static ServeConfiguration Load(string? path)
    {
        var config = new ServeConfiguration();
        if (path is null)
        {
            return config;
        }

        if (!File.Exists(path))
        {
            throw Invalid($"configuration file '{path}' does not exist.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw Invalid($"configuration file '{path}' is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid($"configuration file '{path}' must hold a JSON object.");
            }

            foreach (var property in root.EnumerateObject())
            {
                var v = property.Value;
                switch (property.Name)
                {
                    case "listen": config.Listen.AddRange(Strings(v, "listen")); break;
                    case "models": config.Models.AddRange(Strings(v, "models")); break;
                    case "assemblies": config.Assemblies.AddRange(Strings(v, "assemblies")); break;
                    case "native": config.NativeModels.AddRange(Strings(v, "native")); break;
                    case "maxFrameBytes": config.Server.MaxFrameBytes = Int(v, "maxFrameBytes"); break;
                    case "maxInFlightPerConnection": config.Server.MaxInFlightPerConnection = Int(v, "maxInFlightPerConnection"); break;
                    case "compression": ServeCommand.SetCompression(config.Server, Transports.ServerCompression(v.ValueKind == JsonValueKind.String ? v.GetString()! : string.Join(',', Strings(v, "compression")), "compression")); break;
                    case "drainSeconds": config.Server.DrainTimeout = TimeSpan.FromSeconds(Number(v, "drainSeconds")); break;
                    case "usageLog": config.Server.UsageLog = v.ValueKind == JsonValueKind.True; break;
                    case "security": config.Server.Security = Security.MaasSecurityJson.Read(v); break;
                    case "tls": config.Tls = Security.MaasSecurityJson.ReadTls(v); break;
                    case "logLevel":
                        config.LogLevel = Enum.TryParse<LogLevel>(v.GetString(), ignoreCase: true, out var level) ? level : throw Invalid($"logLevel '{v}' is not one of Trace, Debug, Information, Warning, Error, Critical, None.");
                        break;
                    case "cache":
                        var cache = new ResultCacheOptions();
                        foreach (var c in v.EnumerateObject())
                        {
                            switch (c.Name)
                            {
                                case "sizeLimitBytes": cache.SizeLimitBytes = (long)Number(c.Value, "cache.sizeLimitBytes"); break;
                                case "allModels": cache.AllModels = c.Value.ValueKind == JsonValueKind.True; break;
                                case "models": foreach (var m in Strings(c.Value, "cache.models")) { cache.Models.Add(m); } break;
                                default: throw Invalid($"unknown setting 'cache.{c.Name}'.");
                            }
                        }

                        config.Server.Cache = cache;
                        break;
                    case "batching":
                        var batching = new BatchingOptions();
                        foreach (var b in v.EnumerateObject())
                        {
                            switch (b.Name)
                            {
                                case "maxBatchRows": batching.MaxBatchRows = Int(b.Value, "batching.maxBatchRows"); break;
                                case "maxQueueDelayMicroseconds": batching.MaxQueueDelay = TimeSpan.FromMicroseconds(Number(b.Value, "batching.maxQueueDelayMicroseconds")); break;
                                case "maxRowsPerRequest": batching.MaxRowsPerRequest = Int(b.Value, "batching.maxRowsPerRequest"); break;
                                case "flushWhenIdle": batching.FlushWhenIdle = Bool(b.Value, "batching.flushWhenIdle"); break;
                                case "models": foreach (var m in Strings(b.Value, "batching.models")) { batching.Models.Add(m); } break;
                                default: throw Invalid($"unknown setting 'batching.{b.Name}'.");
                            }
                        }

                        config.Server.Batching = batching;
                        break;
                    default:
                        throw Invalid($"unknown setting '{property.Name}' in '{path}'.");
                }
            }
        }

        return config;
    }

    private static IEnumerable<string> Strings(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? v.EnumerateArray().Select(e => e.GetString()!).ToList()
            : throw Invalid($"'{name}' must be an array of strings.");

    private static double Number(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Invalid($"'{name}' must be a number.");

    private static int Int(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i > 0 ? i : throw Invalid($"'{name}' must be a positive integer.");

    private static bool Bool(JsonElement v, string name) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Invalid($"'{name}' must be true or false."),
    };

    private static MaasException Invalid(string message) => new(MaasErrorCode.InvalidArgument, message);
}
