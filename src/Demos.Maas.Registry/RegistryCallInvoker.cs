using Demos.Maas.Client;
using Demos.Maas.Protocol;

namespace Demos.Maas.Registry;

/// <summary>
/// The invoker of a <c>maas://</c> client: the invoker of one endpoint at a time, verified against the
/// reference before use. A unary call that fails with Unavailable because its endpoint died is
/// retried on the next endpoint (except UpdateParameters, which must not run twice).
/// </summary>
internal sealed class RegistryCallInvoker(Uri uri, MaasReference reference, List<Uri> candidates, MaasClientOptions inner) : MaasCallInvoker
{
    private readonly SemaphoreSlim _switch = new(1, 1);
    private readonly HashSet<Uri> _failed = [];
    private MaasCallInvoker _current = null!;
    private int _disposed;

    public override Uri Uri { get; } = uri;

    /// <summary>The endpoint calls go to now.</summary>
    public Uri Endpoint => _current.Uri;

    public override WelcomeMessage Server => _current.Server;

    public override bool IsUsable => Volatile.Read(ref _disposed) == 0 && _current.IsUsable;

    public override int PendingCalls => _current.PendingCalls;

    public async Task ConnectFirstAsync(CancellationToken cancellationToken)
    {
        _current = await ConnectNextAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task WhenIdleAsync(CancellationToken cancellationToken = default) => _current.WhenIdleAsync(cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _current is not null)
        {
            await _current.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected override async ValueTask<MaasResponse> SendUnaryAsync(MaasRequest request, CancellationToken cancellationToken)
    {
        // The deadline was written into the request by the base class; the inner invoker keeps it.
        TimeSpan? budget = request.TimeoutMicros is { } us ? TimeSpan.FromMicroseconds(us) : null;
        while (true)
        {
            var current = _current;
            try
            {
                return await current.UnaryCallAsync(request, budget, cancellationToken).ConfigureAwait(false);
            }
            catch (MaasException ex) when (ex.Code == MaasErrorCode.Unavailable && !current.IsUsable && request.Operation != Operation.UpdateParameters && !cancellationToken.IsCancellationRequested)
            {
                if (!await FailOverAsync(current, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }
            }
        }
    }

    protected override IAsyncEnumerable<DoubleMatrix> SendStreamingAsync(MaasRequest request, CancellationToken cancellationToken)
    {
        TimeSpan? budget = request.TimeoutMicros is { } us ? TimeSpan.FromMicroseconds(us) : null;
        return _current.StreamingCallAsync(request, budget, cancellationToken);
    }

    // Moves to the next endpoint unless another call already did; false when none is left.
    private async Task<bool> FailOverAsync(MaasCallInvoker dead, CancellationToken cancellationToken)
    {
        await _switch.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(_current, dead))
            {
                return true;
            }

            _failed.Add(dead.Uri);
            MaasCallInvoker next;
            try
            {
                next = await ConnectNextAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException ex) when (ex.Error == RegistryError.RegistryUnavailable)
            {
                return false;
            }

            _current = next;
            _ = dead.DisposeAsync().AsTask();
            return true;
        }
        finally
        {
            _switch.Release();
        }
    }

    private async Task<MaasCallInvoker> ConnectNextAsync(CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        foreach (var endpoint in candidates.Where(c => !_failed.Contains(c)))
        {
            MaasCallInvoker invoker;
            try
            {
                invoker = await ConnectAsync(endpoint, inner, cancellationToken).ConfigureAwait(false);
            }
            catch (MaasException ex) when (ex.Code is MaasErrorCode.Unavailable or MaasErrorCode.DeadlineExceeded)
            {
                _failed.Add(endpoint);
                errors.Add($"{endpoint}: {ex.Message}");
                continue;
            }

            try
            {
                await RegistryTransport.VerifyAsync(invoker, reference, inner.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await invoker.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            invoker.ParametersChanged = (model, version) => ParametersChanged?.Invoke(model, version);
            return invoker;
        }

        throw new RegistryException(RegistryError.RegistryUnavailable, $"No endpoint of {reference.Uuid}@{reference.Version} answered: {string.Join("; ", errors.DefaultIfEmpty("none left"))}.");
    }
}
