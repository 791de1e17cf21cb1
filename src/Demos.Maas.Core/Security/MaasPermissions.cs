using System.Security.Claims;
using Demos.Maas.Protocol;

namespace Demos.Maas.Security;

/// <summary>What a principal's roles allow: operation groups on models.</summary>
internal sealed class MaasPermissions
{
    public const string Info = "info";
    public const string Compute = "compute";
    public const string Sample = "sample";
    public const string ReadData = "read_data";
    public const string UpdateParameters = "update_parameters";

    private static readonly Dictionary<string, MaasRole> BuiltIn = new(StringComparer.Ordinal)
    {
        ["reader"] = new MaasRole { Operations = [Info, Compute, Sample] },
        ["analyst"] = new MaasRole { Operations = [Info, Compute, Sample, ReadData] },
        ["admin"] = new MaasRole { Operations = ["*"] },
    };

    private readonly List<MaasRole> _roles;

    public MaasPermissions(ClaimsPrincipal user, MaasSecurityOptions options)
    {
        _roles = [];
        foreach (var claim in user.FindAll(ClaimTypes.Role))
        {
            if (options.Roles.TryGetValue(claim.Value, out var role) || BuiltIn.TryGetValue(claim.Value, out role))
            {
                _roles.Add(role);
            }
        }
    }

    /// <summary>The operation group of <paramref name="operation"/>.</summary>
    public static string GroupOf(Operation operation) => operation switch
    {
        Operation.Evaluate or Operation.LogDensity or Operation.Gradient => Compute,
        Operation.Sample => Sample,
        Operation.ReadData => ReadData,
        Operation.UpdateParameters => UpdateParameters,
        _ => Info,
    };

    /// <summary>True when some role allows <paramref name="group"/> (any group when null) on <paramref name="model"/>.</summary>
    public bool Allows(ModelInfo model, string? group) =>
        _roles.Any(r => Covers(r.Models, model) && (group is null || r.Operations.Contains("*") || r.Operations.Contains(group)));

    private static bool Covers(IList<string> models, ModelInfo model) =>
        models.Contains("*") || models.Contains(model.Name) || models.Contains(model.Uuid.ToString("D"));
}
