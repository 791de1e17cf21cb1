using System.Collections.Concurrent;
using Demos.Maas.Protocol;
using Demos.Maas.Security;
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
    private readonly TransportSet _transports;
    private readonly ILogger _logger;
    private readonly MaasPipelineBuilder _pipelineBuilder = new();
    private readonly ConcurrentDictionary<ServerConnection, Task> _connections = new();
    private readonly List<(IMaasListener Listener, Task AcceptLoop)> _listeners = [];
    private readonly List<AcceptLoop> _acceptLoops = [];
    private readonly ConnectionCounter _connectionCount;
    private readonly List<IMaasListener> _routeHosts = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly CallTracker _calls = new();
    private readonly Lock _lock = new();
    private readonly ILogger? _usageLog;
    private MaasDelegate? _pipeline;
    private int _draining;

    /// <summary>Creates a server. The in-process transport is always available.</summary>
    public MaasServer(MaasServerOptions? options = null, IEnumerable<IMaasTransport>? transports = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new MaasServerOptions();
        _transports = new TransportSet(transports);

        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MaasServer>();
        _usageLog = Options.UsageLog ? (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Demos.Maas.Usage") : null;
        Cache = Options.Cache is { } cache ? new Middleware.ResultCache(cache) : null;
        Batcher = Options.Batching is { } batching ? new Middleware.DynamicBatcher(batching) : null;
        _connectionCount = new ConnectionCounter(Options.Limits);
        Dispatcher = new ModelDispatcher(Models, BroadcastParametersChanged);
        InitSecurity(loggerFactory ?? NullLoggerFactory.Instance);
    }

    /// <summary>Settings.</summary>
    public MaasServerOptions Options { get; }

    /// <summary>The hosted models.</summary>
    public ModelRegistry Models { get; } = new();

    /// <summary>Recent call durations per model and operation (which calls a connection may run inline).</summary>
    internal CallDurations CallDurations { get; } = new();

    /// <summary>Where the server listens (actual addresses).</summary>
    public IReadOnlyList<Uri> Endpoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _listeners.Select(l => l.Listener.Uri), .. _routeHosts.Select(h => h.Uri)];
            }
        }
    }

    /// <summary>True once a stop began; new requests get Unavailable.</summary>
    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    /// <summary>
    /// True while the server takes new work: not draining, and every listener accepting (one that
    /// hit a resource error, such as running out of file descriptors, is down until it recovers).
    /// </summary>
    public bool IsReady
    {
        get
        {
            lock (_lock)
            {
                return !IsDraining && _acceptLoops.TrueForAll(l => l.IsAccepting);
            }
        }
    }

    /// <summary>Calls running now, over all connections.</summary>
    public int RunningCalls => _calls.Running;

    /// <summary>Fires when a stop has waited its drain time: the calls still running are being cancelled.</summary>
    public CancellationToken ShutdownToken => _shutdown.Token;

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
        ListenAsync(TransportSet.Parse(uri), cancellationToken);

    /// <summary>Binds a listener and starts accepting; returns the actual address.</summary>
    public async Task<Uri> ListenAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (IsDraining)
        {
            throw new InvalidOperationException("The server is stopping.");
        }

        CheckListenAddress(uri);
        _ = Pipeline;
        IMaasListener listener;
        if (_transports.Find<IMaasListenerFactory>(uri) is { } listeners)
        {
            listener = await listeners.BindAsync(uri, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                var loop = new AcceptLoop(listener, ServeAcceptedAsync, Options.Limits, _logger);
                _acceptLoops.Add(loop);
                _listeners.Add((listener, Task.Run(() => loop.RunAsync(_stopping.Token), CancellationToken.None)));
            }
        }
        else if (_transports.Find<IMaasRouteHostFactory>(uri) is { } hosts)
        {
            listener = await hosts.StartAsync(this, uri, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _routeHosts.Add(listener);
            }
        }
        else
        {
            throw _transports.NoTransport(uri, "listen");
        }

        LogListening(_logger, listener.Uri.ToString());
        return listener.Uri;
    }

    /// <summary>Serves one connection that was accepted elsewhere (e.g. by a transport with its own accept loop). Completes when it closes.</summary>
    public Task ServeConnectionAsync(MaasConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (_connectionCount.TryEnter(connection.RemoteAddress) is { } refusal)
        {
            LogConnectionRefused(_logger, connection.RemoteAddress, refusal);
            return connection.DisposeAsync().AsTask();
        }

        var handler = new ServerConnection(this, connection, _logger);
        // Registered before it runs, so a connection that ends at once is never left behind in the table.
        _connections[handler] = Task.CompletedTask;
        var task = RunConnectionAsync(handler);
        _connections.TryUpdate(handler, task, Task.CompletedTask);
        return task;
    }

    /// <summary>
    /// The server's one call runner, used by every transport: runs <paramref name="request"/> through
    /// the pipeline (middleware, dispatcher, model) under its deadline (<paramref name="timeout"/>, or
    /// the request's <c>timeout_us</c>) and the caller's cancellation. The caller sends
    /// <see cref="MaasCallContext.Response"/> or enumerates <see cref="MaasCallContext.Stream"/>, then
    /// disposes the request's matrices. <paramref name="caller"/> says who calls; when the server
    /// authenticates and the transport did not, its credentials are checked here. Every failure arrives as a <see cref="MaasException"/> with the
    /// code the protocol gives it (DeadlineExceeded, Cancelled, Unavailable during shutdown, ModelError
    /// for a model's own exception), also when a stream fails part-way. While draining this throws Unavailable.
    /// </summary>
    public Task<MaasCallContext> InvokeAsync(MaasRequest request, MaasCaller? caller = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        InvokeCoreAsync(request, caller, timeout, answersFirst: false, cancellationToken).AsTask();

    /// <summary>
    /// As <see cref="InvokeAsync(MaasRequest, MaasCaller?, TimeSpan?, CancellationToken)"/>, for a
    /// caller that sends the answer first and then calls <see cref="MaasCallContext.Answered"/> on
    /// the returned context, which runs what the middleware left for after the answer (the call's
    /// metrics and usage line). On an exception there is nothing left to run.
    /// </summary>
    /// <remarks>
    /// A <see cref="ValueTask{TResult}"/>: a call that completes at once (a quick model) costs no
    /// task object. A caller that has just resolved the request's model in <see cref="Models"/>
    /// passes it as <paramref name="model"/>, so the pipeline does not look it up again.
    /// </remarks>
    internal ValueTask<MaasCallContext> InvokeAnsweringFirstAsync(MaasRequest request, MaasCaller? caller, TimeSpan? timeout, CancellationToken cancellationToken, IModel? model = null) =>
        InvokeCoreAsync(request, caller, timeout, answersFirst: true, cancellationToken, model);

    private async ValueTask<MaasCallContext> InvokeCoreAsync(MaasRequest request, MaasCaller? caller, TimeSpan? timeout, bool answersFirst, CancellationToken cancellationToken, IModel? model = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfDraining();
        var user = UserOf(caller);
        var call = new ServerCall(request, timeout, cancellationToken, _shutdown.Token);
        var context = new MaasCallContext(request, isServer: true, call.Token)
        {
            Timeout = call.Timeout,
            User = user,
            CallerIdentity = user?.Identity?.Name ?? caller?.PeerIdentity,
            Credentials = caller?.Credentials,
            RemoteAddress = caller?.RemoteAddress,
            AnswersFirst = answersFirst,
            Model = model,
        };
        try
        {
            await RunAsync(call, context).ConfigureAwait(false);
        }
        catch
        {
            context.Answered();
            throw;
        }

        return context;
    }

    /// <summary>Runs a call; on return the call has either failed (thrown, and ended) or its result is in <paramref name="context"/> (a stream ends the call when it ends).</summary>
    internal async Task RunAsync(ServerCall call, MaasCallContext context)
    {
        _calls.Enter();
        bool streaming = false;
        try
        {
            call.Token.ThrowIfCancellationRequested();
            await Pipeline(context).ConfigureAwait(false);
            if (context.Stream is { } stream)
            {
                // The call lasts until its stream ends: the deadline and the running count go with it.
                streaming = true;
                context.Stream = FinishAsync(stream, call);
            }
        }
        catch (Exception ex)
        {
            throw call.Classify(ex);
        }
        finally
        {
            if (!streaming)
            {
                // A connection's call keeps its token source: the connection may restart the call.
                if (call.Context is null)
                {
                    call.Dispose();
                }
                else
                {
                    call.End();
                }

                _calls.Leave();
            }
        }
    }

    internal void ThrowIfDraining()
    {
        if (IsDraining)
        {
            throw new MaasException(MaasErrorCode.Unavailable, "The server is shutting down; retry elsewhere or later.");
        }
    }

    private async IAsyncEnumerable<DoubleMatrix> FinishAsync(IAsyncEnumerable<DoubleMatrix> stream, ServerCall call)
    {
        try
        {
            var enumerator = stream.GetAsyncEnumerator(call.Token);
            bool ended = false;
            try
            {
                while (true)
                {
                    try
                    {
                        if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        {
                            ended = true;
                            break;
                        }
                    }
                    catch (Exception ex)
                    {
                        ended = true;
                        throw call.Classify(ex);
                    }

                    yield return enumerator.Current;
                }
            }
            finally
            {
                if (!ended)
                {
                    // The transport stopped sending before the stream ended (its client went away, or a
                    // write failed before the transport's own cancellation fired): the call is cancelled
                    // before the model's enumerator is disposed, so the model sees its token fire on every
                    // transport, whichever of the two the transport noticed first.
                    call.Cancel(CallEndReason.Caller);
                }

                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            call.Dispose();
            _calls.Leave();
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
        List<IMaasListener> routeHosts;
        lock (_lock)
        {
            listeners = [.. _listeners];
            routeHosts = [.. _routeHosts];
        }

        foreach (var (listener, _) in listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        // A client that does not read could hold a Goodbye forever: each gets the close timeout.
        await Task.WhenAll(_connections.Keys.Select(c => c.SendGoodbyeAsync(Options.Limits.CloseTimeout))).ConfigureAwait(false);

        using (var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            drain.CancelAfter(Options.DrainTimeout);
            await _calls.WhenIdleAsync(drain.Token).ConfigureAwait(false);
        }

        if (RunningCalls > 0)
        {
            LogDrainTimeout(_logger, RunningCalls);

            // The calls still running end with Unavailable; give them a moment to say so before the sockets close.
            await _shutdown.CancelAsync().ConfigureAwait(false);
            using var settle = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _calls.WhenIdleAsync(settle.Token).ConfigureAwait(false);
        }

        await Task.WhenAll(_connections.Keys.Select(c => c.CloseAsync(Options.Limits.CloseTimeout))).ConfigureAwait(false);

        foreach (var host in routeHosts)
        {
            await host.DisposeAsync().ConfigureAwait(false);
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
        _shutdown.Dispose();
        DisposeSecurity();
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
        Middleware.MaasPipelines.BuildServer(Dispatcher.InvokeAsync, SecurityPipeline(), _pipelineBuilder, _usageLog, Cache, Batcher, Models.TryResolve);

    private async Task ServeAcceptedAsync(MaasConnection connection)
    {
        if (IsDraining)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        await ServeConnectionAsync(connection).ConfigureAwait(false);
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
            _connectionCount.Leave(handler.RemoteAddress);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection from {Remote} refused: {Reason}")]
    private static partial void LogConnectionRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {Remote} failed: {Error}")]
    private static partial void LogConnectionFailed(ILogger logger, string remote, string error);
}
