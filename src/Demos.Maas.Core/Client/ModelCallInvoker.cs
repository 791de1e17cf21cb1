using System.Runtime.CompilerServices;
using Demos.Maas.Protocol;
using Demos.Maas.Server;

namespace Demos.Maas.Client;

/// <summary>
/// A call invoker whose calls run on <see cref="IModel"/>s in this process, checked and dispatched
/// exactly as a server does it. It turns a model adapter (e.g. a UM-Bridge model reached over its own
/// protocol) into a transport: <c>MaasClient.ConnectAsync("umbridge+http://…")</c> then offers the
/// client's middleware, retries, cache and deadlines on top of it.
/// </summary>
public sealed class ModelCallInvoker : MaasCallInvoker
{
    private readonly ModelRegistry _models = new();
    private readonly ModelDispatcher _dispatcher;
    private readonly IAsyncDisposable? _owned;
    private readonly CallTracker _calls = new();
    private int _disposed;

    /// <summary>Serves <paramref name="models"/>; <paramref name="owned"/> (e.g. the adapter's connection) is disposed with the invoker.</summary>
    public ModelCallInvoker(Uri uri, IEnumerable<IModel> models, string agent, IAsyncDisposable? owned = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(models);
        Uri = uri;
        foreach (var model in models)
        {
            _models.Add(model);
        }

        _owned = owned;
        _dispatcher = new ModelDispatcher(_models, (uuid, version) => ParametersChanged?.Invoke(uuid, version));
        Server = new WelcomeMessage { Agent = agent, MaxFrameBytes = 0, MaxInFlight = 0 };
    }

    /// <inheritdoc/>
    public override Uri Uri { get; }

    /// <inheritdoc/>
    public override WelcomeMessage Server { get; }

    /// <inheritdoc/>
    public override bool IsUsable => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc/>
    public override int PendingCalls => _calls.Running;

    /// <inheritdoc/>
    public override Task WhenIdleAsync(CancellationToken cancellationToken = default) => _calls.WhenIdleAsync(cancellationToken);

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _owned is not null)
        {
            await _owned.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    protected override async ValueTask<MaasResponse> SendUnaryAsync(MaasRequest request, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var context = new MaasCallContext(request, isServer: true, cancellationToken);
        _calls.Enter();
        try
        {
            await _dispatcher.InvokeAsync(context).ConfigureAwait(false);
            return context.Response ?? throw new MaasException(MaasErrorCode.Internal, $"{request.Operation} produced no response.");
        }
        finally
        {
            _calls.Leave();
        }
    }

    /// <inheritdoc/>
    protected override async IAsyncEnumerable<DoubleMatrix> SendStreamingAsync(MaasRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var context = new MaasCallContext(request, isServer: true, cancellationToken);
        _calls.Enter();
        try
        {
            await _dispatcher.InvokeAsync(context).ConfigureAwait(false);
            var stream = context.Stream ?? throw new MaasException(MaasErrorCode.Internal, $"{request.Operation} produced no stream.");
            await foreach (var chunk in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }
        }
        finally
        {
            _calls.Leave();
        }
    }

    private void ThrowIfDisposed()
    {
        if (!IsUsable)
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"The connection to {Uri} is closed.");
        }
    }
}
