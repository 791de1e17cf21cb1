using System.Collections.Concurrent;

namespace Demos.Maas.Server;

/// <summary>The models a server hosts, addressed by uuid or by name.</summary>
public sealed class ModelRegistry
{
    private readonly ConcurrentDictionary<string, IModel> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, IModel> _byUuid = new();
    private readonly Lock _lock = new();

    /// <summary>Adds a model; its name and uuid must be new.</summary>
    public void Add(IModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var info = model.Info;
        lock (_lock)
        {
            if (_byName.ContainsKey(info.Name))
            {
                throw new ArgumentException($"A model named '{info.Name}' is already hosted.", nameof(model));
            }

            if (_byUuid.ContainsKey(info.Uuid))
            {
                throw new ArgumentException($"A model with uuid {info.Uuid} is already hosted.", nameof(model));
            }

            _byName[info.Name] = model;
            _byUuid[info.Uuid] = model;
        }
    }

    /// <summary>All hosted models, by name.</summary>
    public IReadOnlyList<IModel> All => [.. _byName.Values.OrderBy(m => m.Info.Name, StringComparer.Ordinal)];

    /// <summary>The model with this uuid or name, or null.</summary>
    public IModel? TryResolve(string? nameOrUuid)
    {
        if (string.IsNullOrEmpty(nameOrUuid))
        {
            return null;
        }

        return _byName.TryGetValue(nameOrUuid, out var model) || (Guid.TryParse(nameOrUuid, out var uuid) && _byUuid.TryGetValue(uuid, out model)) ? model : null;
    }

    /// <summary>The model with this uuid or name.</summary>
    /// <exception cref="MaasException">NotFound.</exception>
    public IModel Resolve(string? nameOrUuid)
    {
        if (string.IsNullOrEmpty(nameOrUuid))
        {
            throw new MaasException(MaasErrorCode.InvalidArgument, "The request names no model.");
        }

        if (_byName.TryGetValue(nameOrUuid, out var model)
            || (Guid.TryParse(nameOrUuid, out var uuid) && _byUuid.TryGetValue(uuid, out model)))
        {
            return model;
        }

        throw NotFound(nameOrUuid);
    }

    /// <summary>
    /// The answer for a model that is absent, and equally for one the caller may not see: it names
    /// no other model, so a caller learns nothing about what else is hosted.
    /// </summary>
    internal static MaasException NotFound(string nameOrUuid) =>
        new(MaasErrorCode.NotFound, $"No model '{nameOrUuid}' on this server; list the models it offers you with ListModels (maas info URI).");
}
