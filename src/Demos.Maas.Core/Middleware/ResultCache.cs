using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Demos.Maas.Protocol;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;

namespace Demos.Maas.Middleware;

/// <summary>Result cache settings.</summary>
public sealed class ResultCacheOptions
{
    /// <summary>Most bytes of cached results kept (values, plus a fixed overhead per entry). Default 256 MiB.</summary>
    public long SizeLimitBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Models (names or uuids) whose results are cached. Calls can opt in or out with <see cref="CacheMode"/>.</summary>
    public ISet<string> Models { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Cache every model's results (as if each were listed in <see cref="Models"/>).</summary>
    public bool AllModels { get; set; }

    /// <summary>Entries older than this are dropped; null = only size and parameter changes evict.</summary>
    public TimeSpan? Expiration { get; set; }
}

/// <summary>
/// Results of deterministic calls keyed by model uuid, model version, parameter version, operation,
/// the call's scalar arguments and a 128-bit hash of its input bytes (x, theta, v). Seeded samples
/// are cached, unseeded ones never. A parameter update through the cache drops that model's entries.
/// </summary>
public sealed class ResultCache : IDisposable
{
    private const int EntryOverheadBytes = 160;

    [ThreadStatic]
    private static CacheKey? t_probe;

    private readonly MemoryCache _cache;
    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> _generations = new();
    private readonly ConcurrentDictionary<Guid, long> _updateCounts = new();

    /// <summary>Creates a cache.</summary>
    public ResultCache(ResultCacheOptions? options = null)
    {
        Options = options ?? new ResultCacheOptions();
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Options.SizeLimitBytes, CompactionPercentage = 0.25 });
    }

    /// <summary>Settings.</summary>
    public ResultCacheOptions Options { get; }

    /// <summary>Entries held now.</summary>
    public int Count => _cache.Count;

    /// <summary>True when calls of this operation can be cached at all.</summary>
    public static bool IsCacheable(MaasRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Operation switch
        {
            Operation.Evaluate or Operation.LogDensity or Operation.Gradient or Operation.ReadData => true,
            Operation.Sample => request.Seed is not null,
            _ => false,
        };
    }

    /// <summary>True when this call of this model should use the cache (opt-in by model or by call).</summary>
    public bool IsEnabledFor(IModel model, MaasRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        return request.Cache switch
        {
            CacheMode.Bypass => false,
            CacheMode.Use => IsCacheable(request),
            _ => IsCacheable(request) && (Options.AllModels || Options.Models.Contains(model.Info.Name) || Options.Models.Contains(model.Info.Uuid.ToString("D"))),
        };
    }

    /// <summary>
    /// Copies a cached unary result into <paramref name="destination"/> without allocating: the
    /// hot path of a hit. Returns false on a miss or when the destination is too small.
    /// </summary>
    public bool TryCopy(IModel model, MaasRequest request, Span<double> destination, out int rows, out int columns)
    {
        rows = columns = 0;
        var probe = t_probe ??= new CacheKey();
        probe.Fill(model, request, ParameterVersionOf(model));
        if (_cache.TryGetValue(probe, out var value) && value is CachedMatrix cached && cached.Values.Length <= destination.Length)
        {
            cached.Values.CopyTo(destination);
            rows = cached.Rows;
            columns = cached.Columns;
            return true;
        }

        return false;
    }

    /// <summary>A copy of the cached unary result, or null.</summary>
    public DoubleMatrix? TryGetMatrix(IModel model, MaasRequest request)
    {
        var probe = t_probe ??= new CacheKey();
        probe.Fill(model, request, ParameterVersionOf(model));
        return _cache.TryGetValue(probe, out var value) && value is CachedMatrix cached
            ? DoubleMatrix.CopyOf(cached.Values, cached.Rows, cached.Columns)
            : null;
    }

    /// <summary>The cached chunks of a streamed result, or null.</summary>
    internal CachedStream? TryGetStream(IModel model, MaasRequest request)
    {
        var probe = t_probe ??= new CacheKey();
        probe.Fill(model, request, ParameterVersionOf(model));
        return _cache.TryGetValue(probe, out var value) ? value as CachedStream : null;
    }

    /// <summary>Stores a copy of a unary result, keyed by the parameter version seen before the call.</summary>
    public void Store(IModel model, MaasRequest request, long parameterVersion, DoubleMatrix result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Set(model, request, parameterVersion, new CachedMatrix(result.ToArray(), result.Rows, result.Columns), result.Length);
    }

    internal void Store(IModel model, MaasRequest request, long parameterVersion, CachedStream stream) =>
        Set(model, request, parameterVersion, stream, stream.Values.Length);

    /// <summary>The parameter version to key a call of this model with.</summary>
    public long ParameterVersionOf(IModel model) =>
        model is IVersionedParameters versioned ? versioned.ParameterVersion : _updateCounts.GetValueOrDefault(model.Info.Uuid);

    /// <summary>Drops every entry of a model (its parameters changed).</summary>
    public void Invalidate(Guid model)
    {
        _updateCounts.AddOrUpdate(model, 1, (_, n) => n + 1);
        if (_generations.TryRemove(model, out var generation))
        {
            generation.Cancel();
            generation.Dispose();
        }
    }

    /// <summary>Drops everything.</summary>
    public void Clear() => _cache.Compact(1.0);

    /// <inheritdoc/>
    public void Dispose()
    {
        _cache.Dispose();
        foreach (var g in _generations.Values)
        {
            g.Dispose();
        }
    }

    private void Set(IModel model, MaasRequest request, long parameterVersion, object value, int doubles)
    {
        long size = ((long)doubles * sizeof(double)) + EntryOverheadBytes;
        if (size > Options.SizeLimitBytes / 4)
        {
            return; // One huge result would evict everything else.
        }

        var key = new CacheKey();
        key.Fill(model, request, parameterVersion);
        var generation = _generations.GetOrAdd(model.Info.Uuid, static _ => new CancellationTokenSource());
        var entryOptions = new MemoryCacheEntryOptions { Size = size };
        try
        {
            entryOptions.AddExpirationToken(new CancellationChangeToken(generation.Token));
        }
        catch (ObjectDisposedException)
        {
            return; // Invalidated while we were storing: the result may already be stale.
        }

        if (Options.Expiration is { } expiration)
        {
            entryOptions.AbsoluteExpirationRelativeToNow = expiration;
        }

        _cache.Set(key, value, entryOptions);
    }

    internal sealed record CachedMatrix(double[] Values, int Rows, int Columns);

    internal sealed record CachedStream(double[] Values, int Columns, int[] ChunkRows, ulong? Seed);

    /// <summary>Mutable so a per-thread instance can probe the cache without allocating; stored keys are fresh instances.</summary>
    private sealed class CacheKey : IEquatable<CacheKey>
    {
        private static readonly UInt128 Mix = new(0x9E3779B97F4A7C15UL, 0xBF58476D1CE4E5B9UL);

        private Guid _model;
        private string _modelVersion = "";
        private long _parameterVersion;
        private Operation _operation;
        private GradientKind _kind;
        private ulong _seed;
        private long _count;
        private int _chunk;
        private string? _dataset;
        private long _offset;
        private int _rows;
        private int _columns;
        private UInt128 _hash;

        public void Fill(IModel model, MaasRequest request, long parameterVersion)
        {
            var info = model.Info;
            _model = info.Uuid;
            _modelVersion = info.Version;
            _parameterVersion = parameterVersion;
            _operation = request.Operation;
            _kind = request.GradientKind;
            _seed = request.Seed ?? 0;
            _count = request.Count;
            _chunk = request.ChunkRows;
            _dataset = request.Dataset;
            _offset = request.Offset;
            _rows = request.X?.Rows ?? -1;
            _columns = request.X?.Columns ?? -1;
            // Each part hashed on its own, combined with an odd 128-bit multiplier so all 128 bits of each part count.
            UInt128 h = request.X is null ? 0 : XxHash128.HashToUInt128(request.X.Bytes);
            h = (h * Mix) + XxHash128.HashToUInt128(MemoryMarshal.AsBytes(request.Theta.Span));
            if (request.Vector is { } v)
            {
                h = (h * Mix) + XxHash128.HashToUInt128(v.Bytes);
                h = (h * Mix) + (((UInt128)(uint)v.Rows << 32) | (uint)v.Columns);
            }

            _hash = h;
        }

        public bool Equals(CacheKey? other) =>
            other is not null && _hash == other._hash && _model == other._model && _parameterVersion == other._parameterVersion
            && _operation == other._operation && _kind == other._kind && _seed == other._seed && _count == other._count
            && _chunk == other._chunk && _offset == other._offset && _rows == other._rows && _columns == other._columns
            && string.Equals(_dataset, other._dataset, StringComparison.Ordinal) && string.Equals(_modelVersion, other._modelVersion, StringComparison.Ordinal);

        public override bool Equals(object? obj) => Equals(obj as CacheKey);

        public override int GetHashCode() => HashCode.Combine(_hash, _model, _parameterVersion, _operation, _seed);
    }
}
