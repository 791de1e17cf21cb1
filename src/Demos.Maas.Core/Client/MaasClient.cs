using System.Collections.Concurrent;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Demos.Maas.Client;

/// <summary>
/// A client of one MaaS server. Hands out remote models as <see cref="IModel"/>; any number of calls
/// run concurrently over one connection and their answers may arrive in any order. When the
/// connection is lost, calls on it fail with Unavailable and the next call connects again (the
/// retry middleware turns that into transparent retries for idempotent operations).
/// </summary>
/// <example>
/// <code>
/// await using var client = await MaasClient.ConnectAsync("pipe:///tmp/model.sock", options);
/// IModel model = await client.GetModelAsync("gaussian");
/// using var logp = await model.LogDensityAsync(points);
/// </code>
/// </example>
public sealed class MaasClient : IAsyncDisposable
{
    private readonly MaasClientOptions _options;
    private readonly Func<CancellationToken, Task<MaasCallInvoker>> _connect;
    private readonly ILogger _logger;
    private readonly MaasDelegate _pipeline;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly ConcurrentDictionary<Guid, long> _parameterVersions = new();
    private MaasCallInvoker? _current;
    private int _disposed;

    private MaasClient(Uri uri, TransportSet transports, MaasClientOptions options)
    {
        Uri = uri;
        _options = options;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MaasClient>();
        _connect = ConnectorFor(uri, transports);
        var factory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        Cache = options.Cache is { } cache ? new Middleware.ResultCache(cache) : null;
        Coalescer = options.Coalescing is { } coalescing ? new Middleware.DynamicBatcher(coalescing, options.InlineCompletions) : null;
        _pipeline = Middleware.MaasPipelines.BuildClient(TerminalAsync, options.Pipeline, options.UsageLog ? factory.CreateLogger("Demos.Maas.Usage") : null, Cache, options.Retry, Coalescer);
    }

    /// <summary>The client-side result cache, when <see cref="MaasClientOptions.Cache"/> is set.</summary>
    public Middleware.ResultCache? Cache { get; }

    /// <summary>The coalescer, when <see cref="MaasClientOptions.Coalescing"/> is set.</summary>
    public Middleware.DynamicBatcher? Coalescer { get; }

    /// <summary>The server's address.</summary>
    public Uri Uri { get; }

    /// <summary>The current connection's Welcome: negotiated version, agent, limits.</summary>
    public WelcomeMessage Server => (_current ?? throw new InvalidOperationException("Not connected.")).Server;

    /// <summary>True while the current connection is open and the server has not said Goodbye.</summary>
    public bool IsConnected => _current?.IsUsable == true;

    /// <summary>Calls waiting for an answer on the current connection.</summary>
    public int PendingCalls => _current?.PendingCalls ?? 0;

    /// <summary>Connections made so far (1 + reconnects).</summary>
    public int Connections { get; private set; }

    /// <summary>Connects and performs the handshake.</summary>
    public static Task<MaasClient> ConnectAsync(string uri, MaasClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(TransportSet.Parse(uri), options, cancellationToken);

    /// <summary>Connects and performs the handshake.</summary>
    /// <exception cref="MaasException">Unavailable (cannot connect), VersionMismatch, InvalidArgument (no transport for the scheme).</exception>
    public static async Task<MaasClient> ConnectAsync(Uri uri, MaasClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new MaasClientOptions();
        var client = new MaasClient(uri, new TransportSet(options.Transports), options);
        try
        {
            await client.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return client;
    }

    /// <summary>Info of every model the server hosts.</summary>
    public async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        var context = await InvokeAsync(new MaasRequest { Operation = Operation.ListModels }, null, _options.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        return context.Response?.Models ?? throw new MaasException(MaasErrorCode.ProtocolError, "ListModels answered without models.");
    }

    /// <summary>A remote model by uuid or name.</summary>
    /// <exception cref="MaasException">NotFound.</exception>
    public async Task<RemoteModel> GetModelAsync(string nameOrUuid, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrUuid);
        var context = await InvokeAsync(new MaasRequest { Operation = Operation.Info, Model = nameOrUuid }, null, _options.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        var info = context.Response?.Info ?? throw new MaasException(MaasErrorCode.ProtocolError, "Info answered without info.");
        return new RemoteModel(this, info, new CallOptions { Timeout = _options.DefaultTimeout });
    }

    /// <summary>A remote model by uuid.</summary>
    public Task<RemoteModel> GetModelAsync(Guid uuid, CancellationToken cancellationToken = default) =>
        GetModelAsync(uuid.ToString("D"), cancellationToken);

    /// <summary>Closes the connection; calls still waiting fail with Unavailable.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var current = _current;
        if (current is not null)
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }

        Cache?.Dispose();
        Coalescer?.Dispose();
    }

    /// <summary>The last parameter version this client knows for a model (from responses and server notifications), or 0.</summary>
    public long KnownParameterVersion(Guid model) => _parameterVersions.TryGetValue(model, out long v) ? v : 0;

    /// <summary>Runs a request through the client pipeline (used by <see cref="RemoteModel"/>).</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<MaasCallContext> InvokeAsync(MaasRequest request, IModel? model, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var context = new MaasCallContext(request, isServer: false, cancellationToken) { Model = model, Timeout = timeout };
        await _pipeline(context).ConfigureAwait(false);
        return context;
    }

    internal void NoteParameterVersion(Guid model, long version)
    {
        if (model != Guid.Empty && version > 0)
        {
            _parameterVersions.AddOrUpdate(model, version, (_, old) => Math.Max(old, version));
        }
    }

    // A byte-stream transport gets the framed invoker; a call-level one (HTTP, UM-Bridge) makes its own.
    private Func<CancellationToken, Task<MaasCallInvoker>> ConnectorFor(Uri uri, TransportSet transports)
    {
        if (transports.Find<IMaasCallInvokerFactory>(uri) is { } invokers)
        {
            return async ct => await invokers.ConnectAsync(uri, _options, ct).ConfigureAwait(false);
        }

        if (transports.Find<IMaasConnectionFactory>(uri) is { } connections)
        {
            return async ct => await ClientConnection.OpenAsync(uri, connections, _options, _logger, ct).ConfigureAwait(false);
        }

        throw transports.NoTransport(uri, "connect");
    }

    private ValueTask TerminalAsync(MaasCallContext context)
    {
        if (context.Request.Operation is Operation.Sample or Operation.ReadData)
        {
            context.Stream = StreamAsync(context.Request, context.Timeout, context.CancellationToken);
            return ValueTask.CompletedTask;
        }

        return CallIntoAsync(context);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CallIntoAsync(MaasCallContext context)
    {
        var connection = await GetConnectionAsync(context.CancellationToken).ConfigureAwait(false);
        var response = await connection.UnaryCallAsync(context.Request, context.Timeout, context.CancellationToken).ConfigureAwait(false);
        if (response.Parameters is { } parameters && context.Model is { } model)
        {
            NoteParameterVersion(model.Info.Uuid, parameters.Version);
        }

        context.Response = response;
    }

    private async IAsyncEnumerable<DoubleMatrix> StreamAsync(MaasRequest request, TimeSpan? timeout, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var chunk in connection.StreamingCallAsync(request, timeout, cancellationToken).ConfigureAwait(false))
        {
            yield return chunk;
        }
    }

    private async ValueTask<MaasCallInvoker> GetConnectionAsync(CancellationToken cancellationToken)
    {
        var current = _current;
        if (current is { IsUsable: true })
        {
            return current;
        }

        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new MaasException(MaasErrorCode.Unavailable, "The client was disposed.");
            }

            current = _current;
            if (current is { IsUsable: true })
            {
                return current;
            }

            if (current is not null && !_options.Reconnect)
            {
                throw new MaasException(MaasErrorCode.Unavailable, $"The connection to {Uri} is closed (MaasClientOptions.Reconnect is off).");
            }

            var next = await _connect(cancellationToken).ConfigureAwait(false);
            next.ParametersChanged = NoteParameterVersion;
            _current = next;
            Connections++;
            if (current is not null)
            {
                // Notifications may have been missed while disconnected, and a restarted server
                // starts its parameter versions again: nothing cached before is trusted.
                Cache?.Clear();
                _ = RetireAsync(current);
            }

            return next;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    // A connection told Goodbye may still finish its running calls; close it when they are done.
    private static async Task RetireAsync(MaasCallInvoker old)
    {
        try
        {
            await old.WhenIdleAsync().WaitAsync(TimeSpan.FromMinutes(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Calls that outlive ten minutes of a server's shutdown are failed by the close below.
        }

        await old.DisposeAsync().ConfigureAwait(false);
    }
}
