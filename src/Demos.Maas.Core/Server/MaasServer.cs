using System.Collections.Concurrent;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Demos.Maas.Server;

/// <summary>
/// Hosts models and serves them on any number of listeners. Requests run concurrently; a model
/// that throws fails only its call; a graceful stop drains running calls and refuses new ones
/// with Unavailable.
/// </summary>
/// <example>
/// <code>
/// await using var server = new MaasServer(new MaasServerOptions(), [new PipeTransport()]);
/// server.AddModel(model);
/// await server.ListenAsync("pipe:///tmp/model.sock");
/// await server.WaitForShutdownAsync(); // until Ctrl+C or SIGTERM, then drain
/// </code>
/// </example>
public sealed partial class MaasServer : IHostedService, IAsyncDisposable
{
    private readonly List<IMaasTransport> _transports;
    private readonly ILogger _logger;
    private readonly MaasPipelineBuilder _pipelineBuilder = new();
    private readonly ConcurrentDictionary<ServerConnection, Task> _connections = new();
    private readonly List<(IMaasListener Listener, Task AcceptLoop)> _listeners = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly ILogger? _usageLog;
    private MaasDelegate? _pipeline;
    private int _draining;
    private int _running;

    /// <summary>Creates a server. The in-process transport is always available.</summary>
    public MaasServer(MaasServerOptions? options = null, IEnumerable<IMaasTransport>? transports = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new MaasServerOptions();
        _transports = [.. transports ?? []];
        if (!_transports.Any(t => t.Schemes.Contains("inproc")))
        {
            _transports.Add(new InProcessTransport());
        }

        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MaasServer>();
        _usageLog = Options.UsageLog ? (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Demos.Maas.Usage") : null;
        Cache = Options.Cache is { } cache ? new Middleware.ResultCache(cache) : null;
        Batcher = Options.Batching is { } batching ? new Middleware.DynamicBatcher(batching) : null;
        Dispatcher = new ModelDispatcher(Models, BroadcastParametersChanged);
    }

    /// <summary>Settings.</summary>
    public MaasServerOptions Options { get; }

    /// <summary>The hosted models.</summary>
    public ModelRegistry Models { get; } = new();

    /// <summary>Where the server listens (actual addresses).</summary>
    public IReadOnlyList<Uri> Endpoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _listeners.Select(l => l.Listener.Uri)];
            }
        }
    }

    /// <summary>True once a stop began; new requests get Unavailable.</summary>
    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    /// <summary>Calls running now, over all connections.</summary>
    public int RunningCalls => Volatile.Read(ref _running);

    internal MaasDelegate Pipeline => _pipeline ??= BuildPipeline();

    /// <summary>The shared result cache, when <see cref="MaasServerOptions.Cache"/> is set.</summary>
    public Middleware.ResultCache? Cache { get; }

    /// <summary>The dynamic batcher, when <see cref="MaasServerOptions.Batching"/> is set.</summary>
    public Middleware.DynamicBatcher? Batcher { get; }

    private ModelDispatcher Dispatcher { get; }

    /// <summary>Hosts a model.</summary>
    public MaasServer AddModel(IModel model)
    {
        Models.Add(model);
        return this;
    }

    /// <summary>Hosts a model that is not thread-safe on <paramref name="workers"/> instances, each used by one call at a time.</summary>
    public MaasServer AddModel(Func<IModel> factory, int workers)
    {
        Models.Add(Middleware.ModelWorkers.Create(factory, workers));
        return this;
    }

    /// <summary>Adds a middleware (before the first call; first added = outermost).</summary>
    public MaasServer Use(Func<MaasDelegate, MaasDelegate> middleware)
    {
        if (_pipeline is not null)
        {
            throw new InvalidOperationException("Middleware must be added before the server handles its first call.");
        }

        _pipelineBuilder.Use(middleware);
        return this;
    }

    /// <summary>Binds a listener and starts accepting; returns the actual address.</summary>
    public Task<Uri> ListenAsync(string uri, CancellationToken cancellationToken = default) =>
        ListenAsync(TransportSelector.ParseUri(uri), cancellationToken);

    /// <summary>Binds a listener and starts accepting; returns the actual address.</summary>
    public async Task<Uri> ListenAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (IsDraining)
        {
            throw new InvalidOperationException("The server is stopping.");
        }

        var transport = TransportSelector.Select(_transports, uri);
        var listener = transport is IMaasHostingTransport hosting
            ? await hosting.BindAsync(this, uri, cancellationToken).ConfigureAwait(false)
            : await transport.BindAsync(uri, cancellationToken).ConfigureAwait(false);
        _ = Pipeline;
        lock (_lock)
        {
            _listeners.Add((listener, Task.Run(() => AcceptLoopAsync(listener), CancellationToken.None)));
        }

        LogListening(_logger, listener.Uri.ToString());
        return listener.Uri;
    }

    /// <summary>Serves one connection that was accepted elsewhere (e.g. by a transport with its own accept loop). Completes when it closes.</summary>
    public Task ServeConnectionAsync(MaasConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var handler = new ServerConnection(this, connection, _logger);
        // Registered before it runs, so a connection that ends at once is never left behind in the table.
        _connections[handler] = Task.CompletedTask;
        var task = RunConnectionAsync(handler);
        _connections.TryUpdate(handler, task, Task.CompletedTask);
        return task;
    }

    /// <summary>
    /// Runs one request through this server's pipeline (middleware, dispatcher, model), for
    /// transports that are not byte streams (HTTP routes, MPI ranks). The caller sends
    /// <see cref="MaasCallContext.Response"/> or enumerates <see cref="MaasCallContext.Stream"/>,
    /// and disposes the request's matrices afterwards. While draining this throws Unavailable.
    /// </summary>
    public async Task<MaasCallContext> InvokeAsync(MaasRequest request, TimeSpan? timeout = null, string? callerIdentity = null, string? credentials = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (IsDraining)
        {
            throw new MaasException(MaasErrorCode.Unavailable, "The server is shutting down; retry elsewhere or later.");
        }

        var deadline = timeout is { } t && t.TotalMilliseconds < int.MaxValue - 1 ? new CancellationTokenSource(t > TimeSpan.Zero ? t : TimeSpan.FromTicks(1)) : null;
        var linked = deadline is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var token = linked?.Token ?? cancellationToken;
        var context = new MaasCallContext(request, isServer: true, token) { Timeout = timeout, CallerIdentity = callerIdentity, Credentials = credentials };
        bool streaming = false;
        CallStarted();
        try
        {
            await Pipeline(context).ConfigureAwait(false);
            if (context.Stream is { } stream)
            {
                // The call lasts until its stream ends: the deadline and the running count go with it.
                streaming = true;
                context.Stream = Finish(stream, deadline, linked, timeout, cancellationToken);
            }

            return context;
        }
        catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            throw new MaasException(MaasErrorCode.DeadlineExceeded, $"The deadline of {timeout!.Value.TotalMilliseconds:0.###} ms passed.");
        }
        finally
        {
            if (!streaming)
            {
                linked?.Dispose();
                deadline?.Dispose();
                CallEnded();
            }
        }
    }

    private async IAsyncEnumerable<DoubleMatrix> Finish(IAsyncEnumerable<DoubleMatrix> stream, CancellationTokenSource? deadline, CancellationTokenSource? linked, TimeSpan? timeout, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken caller = default)
    {
        try
        {
            var enumerator = stream.GetAsyncEnumerator(caller);
            try
            {
                while (true)
                {
                    try
                    {
                        if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true && !caller.IsCancellationRequested)
                    {
                        throw new MaasException(MaasErrorCode.DeadlineExceeded, $"The deadline of {timeout!.Value.TotalMilliseconds:0.###} ms passed.");
                    }

                    yield return enumerator.Current;
                }
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            linked?.Dispose();
            deadline?.Dispose();
            CallEnded();
        }
    }

    /// <summary>Listens on every URI in <see cref="MaasServerOptions.Listen"/>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var uri in Options.Listen)
        {
            await ListenAsync(uri, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Graceful stop: stops accepting, sends Goodbye, refuses new requests with Unavailable, waits up
    /// to <see cref="MaasServerOptions.DrainTimeout"/> (or until <paramref name="cancellationToken"/>)
    /// for running calls, cancels the rest (they end with Unavailable), closes connections.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _draining, 1) != 0)
        {
            await Task.WhenAll(_connections.Values).ConfigureAwait(false);
            return;
        }

        LogStopping(_logger, RunningCalls);
        List<(IMaasListener Listener, Task AcceptLoop)> listeners;
        lock (_lock)
        {
            listeners = [.. _listeners];
        }

        foreach (var (listener, _) in listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var connection in _connections.Keys)
        {
            await connection.SendGoodbyeAsync().ConfigureAwait(false);
        }

        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(Options.DrainTimeout);
        try
        {
            while (RunningCalls > 0)
            {
                await Task.Delay(10, drain.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            LogDrainTimeout(_logger, RunningCalls);
        }

        foreach (var connection in _connections.Keys)
        {
            connection.CancelAll();
        }

        // Let the cancelled calls send their Unavailable errors before the sockets close.
        var settle = Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
        while (RunningCalls > 0 && !settle.IsCompleted)
        {
            await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var connection in _connections.Keys)
        {
            await connection.CloseAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        await Task.WhenAll(listeners.Select(l => l.AcceptLoop)).ConfigureAwait(false);
        LogStopped(_logger);
    }

    /// <summary>Stops (gracefully) and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        Cache?.Dispose();
        Batcher?.Dispose();
    }

    private void BroadcastParametersChanged(Guid model, long version)
    {
        foreach (var connection in _connections.Keys)
        {
            connection.NotifyParametersChanged(model, version);
        }
    }

    private MaasDelegate BuildPipeline() =>
        Middleware.MaasPipelines.BuildServer(Dispatcher.InvokeAsync, _pipelineBuilder, _usageLog, Cache, Batcher, Models.TryResolve);

    internal void CallStarted() => Interlocked.Increment(ref _running);

    internal void CallEnded() => Interlocked.Decrement(ref _running);

    private async Task AcceptLoopAsync(IMaasListener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            MaasConnection? connection;
            try
            {
                connection = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is ObjectDisposedException or System.Net.Sockets.SocketException or IOException or InvalidOperationException)
            {
                if (!_stopping.IsCancellationRequested)
                {
                    LogAcceptFailed(_logger, listener.Uri.ToString(), ex.Message);
                }

                return;
            }

            if (connection is null)
            {
                return;
            }

            if (IsDraining)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                continue;
            }

            _ = ServeConnectionAsync(connection);
        }
    }

    private async Task RunConnectionAsync(ServerConnection handler)
    {
        await Task.Yield();
        try
        {
            await handler.RunAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogConnectionFailed(_logger, handler.RemoteAddress, ex.ToString());
        }
        finally
        {
            _connections.TryRemove(handler, out _);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on {Uri}")]
    private static partial void LogListening(ILogger logger, string uri);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: draining {Running} running calls")]
    private static partial void LogStopping(ILogger logger, int running);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain timed out with {Running} calls running; cancelling them")]
    private static partial void LogDrainTimeout(ILogger logger, int running);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Accepting on {Uri} failed: {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, string uri, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {Remote} failed: {Error}")]
    private static partial void LogConnectionFailed(ILogger logger, string remote, string error);
}
