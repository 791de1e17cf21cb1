namespace Demos.Maas.Server;

/// <summary>
/// Makes parameter updates that carry a client-chosen update id idempotent for every hosted model:
/// a retried update (its answer was lost with the connection) returns the first result instead of
/// being applied twice. Remembers the most recent ids only.
/// </summary>
internal sealed class UpdateLedger
{
    private const int Capacity = 4096;
    private readonly Dictionary<(Guid Model, string UpdateId), Task<ParameterSet>> _applied = [];
    private readonly Queue<(Guid Model, string UpdateId)> _order = new();
    private readonly Lock _lock = new();

    public async ValueTask<ParameterSet> ApplyOnceAsync(IModel model, ParameterUpdate update, CancellationToken cancellationToken)
    {
        if (update.UpdateId is not { } id)
        {
            return await model.UpdateParametersAsync(update, cancellationToken).ConfigureAwait(false);
        }

        var key = (model.Info.Uuid, id);
        TaskCompletionSource<ParameterSet> mine;
        Task<ParameterSet>? earlier;
        lock (_lock)
        {
            if (!_applied.TryGetValue(key, out earlier))
            {

                mine = new TaskCompletionSource<ParameterSet>(TaskCreationOptions.RunContinuationsAsynchronously);
                _applied[key] = mine.Task;
                _order.Enqueue(key);
                if (_order.Count > Capacity)
                {
                    _applied.Remove(_order.Dequeue());
                }
            }
            else
            {
                mine = null!;
            }
        }

        if (earlier is not null)
        {
            return await earlier.ConfigureAwait(false);
        }

        try
        {
            var result = await model.UpdateParametersAsync(update, cancellationToken).ConfigureAwait(false);
            mine.SetResult(result);
            return result;
        }
        catch (Exception ex)
        {
            // A failed update was not applied: forget it so that a retry may try again.
            lock (_lock)
            {
                _applied.Remove(key);
            }

            mine.SetException(ex);
            throw;
        }
    }
}
