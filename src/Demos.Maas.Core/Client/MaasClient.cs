using System.Collections.Concurrent;
using Demos.Maas.Protocol;
using Demos.Maas.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Demos.Maas.Client;

/// <summary>
/// A connection to a MaaS server. Hands out remote models as <see cref="IModel"/>; any number of
/// calls run concurrently over the one connection and their answers may arrive in any order.
/// </summary>
/// <example>
/// <code>
/// await using var client = await MaasClient.ConnectAsync("pipe:///tmp/model.sock", options);
/// IModel model = await client.GetModelAsync("gaussian");
/// using var logp = await model.LogDensityAsync(points);
/// </code>
/// </example>
public sealed partial class MaasClient : IAsyncDisposable
{
    private readonly MaasConnection _connection;
    private readonly FrameChannel _channel;
    private readonly MaasClientOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<uint, PendingCall> _pending = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource<WelcomeMessage> _welcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly MaasDelegate _pipeline;
    private SemaphoreSlim _slots = new(1, 1);
    private Task _readLoop = Task.CompletedTask;
    private Exception? _failure;
    private int _nextId;
    private volatile bool _goodbye;
    private int _disposed;

    private MaasClient(Uri uri, MaasConnection connection, MaasClientOptions options)
    {
        Uri = uri;
        _connection = connection;
        _options = options;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MaasClient>();
        _channel = new FrameChannel(connection.Transport, options.MaxFrameBytes);
        _pipeline = options.Pipeline.Build(TerminalAsync);
    }

    /// <summary>The server's address.</summary>
    public Uri Uri { get; }

    /// <summary>The server's Welcome: negotiated version, agent, limits.</summary>
    public WelcomeMessage Server => _welcome.Task.IsCompletedSuccessfully ? _welcome.Task.Result : throw new InvalidOperationException("Not connected.");

    /// <summary>False once the connection closed or the server said Goodbye.</summary>
    public bool IsConnected => !_closed.IsCancellationRequested && !_goodbye;

    /// <summary>Calls waiting for an answer.</summary>
    public int PendingCalls => _pending.Count;

    /// <summary>Connects and performs the handshake.</summary>
    public static Task<MaasClient> ConnectAsync(string uri, MaasClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(TransportSelector.ParseUri(uri), options, cancellationToken);

    /// <summary>Connects and performs the handshake.</summary>
    /// <exception cref="MaasException">Unavailable (cannot connect), VersionMismatch, InvalidArgument (no transport for the scheme).</exception>
    public static async Task<MaasClient> ConnectAsync(Uri uri, MaasClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new MaasClientOptions();
        var transports = options.Transports.ToList();
        if (!transports.Any(t => t.Schemes.Contains("inproc")))
        {
            transports.Add(new InProcessTransport());
        }

        var transport = TransportSelector.Select(transports, uri);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        MaasConnection connection;
        try
        {
            connection = await transport.ConnectAsync(uri, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Connecting to {uri} timed out after {options.ConnectTimeout.TotalSeconds:0.#} s.");
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"Cannot connect to {uri}: {ex.Message}", ex);
        }

        var client = new MaasClient(uri, connection, options);
        try
        {
            await client.HandshakeAsync(timeout.Token, cancellationToken).ConfigureAwait(false);
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
        var context = new MaasCallContext(new MaasRequest { Operation = Operation.ListModels }, isServer: false, cancellationToken) { Timeout = _options.DefaultTimeout };
        await _pipeline(context).ConfigureAwait(false);
        return context.Response?.Models ?? throw new MaasException(MaasErrorCode.ProtocolError, "ListModels answered without models.");
    }

    /// <summary>A remote model by uuid or name.</summary>
    /// <exception cref="MaasException">NotFound.</exception>
    public async Task<RemoteModel> GetModelAsync(string nameOrUuid, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrUuid);
        var context = new MaasCallContext(new MaasRequest { Operation = Operation.Info, Model = nameOrUuid }, isServer: false, cancellationToken) { Timeout = _options.DefaultTimeout };
        await _pipeline(context).ConfigureAwait(false);
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

        _failure ??= new MaasException(MaasErrorCode.Unavailable, "The client was disposed.");
        await _closed.CancelAsync().ConfigureAwait(false);
        await _channel.CloseOutputAsync().ConfigureAwait(false);
        _channel.CompleteInput();
        _connection.Abort();
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Closing is what we asked for.
        }

        FailAll();
        await _connection.DisposeAsync().ConfigureAwait(false);
        _channel.Dispose();
    }

    /// <summary>Runs a request through the client pipeline (used by <see cref="RemoteModel"/>).</summary>
    internal async ValueTask<MaasCallContext> InvokeAsync(MaasRequest request, IModel model, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var context = new MaasCallContext(request, isServer: false, cancellationToken) { Model = model, Timeout = timeout };
        await _pipeline(context).ConfigureAwait(false);
        return context;
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

    private async ValueTask CallIntoAsync(MaasCallContext context) =>
        context.Response = await CallAsync(context.Request, context.Timeout, context.CancellationToken).ConfigureAwait(false);

    private async Task HandshakeAsync(CancellationToken timeout, CancellationToken caller)
    {
        _readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);
        try
        {
            await _channel.SendAsync(new HelloMessage
            {
                Version = _options.ProtocolVersion,
                Agent = _options.Agent,
                MaxFrameBytes = (uint)_options.MaxFrameBytes,
                Credentials = _options.Credentials,
            }, timeout).ConfigureAwait(false);
            var welcome = await _welcome.Task.WaitAsync(timeout).ConfigureAwait(false);
            _channel.MaxOutgoingFrameBytes = welcome.MaxFrameBytes == 0 ? int.MaxValue : (int)Math.Min(welcome.MaxFrameBytes, int.MaxValue);
            int slots = welcome.MaxInFlight == 0 ? 1024 : (int)Math.Min(welcome.MaxInFlight, 1 << 20);
            _slots = new SemaphoreSlim(slots, slots);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"{Uri} did not complete the handshake within {_options.ConnectTimeout.TotalSeconds:0.#} s.");
        }
    }
}
