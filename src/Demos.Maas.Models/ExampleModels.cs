namespace Demos.Maas.Models;

/// <summary>The built-in example models, by name (what <c>maas serve --model NAME</c> accepts).</summary>
public static class ExampleModels
{
    /// <summary>Names of the small protocol-exercising models, hosted by default when no model is named.</summary>
    public static IReadOnlyList<string> Names { get; } = ["gaussian1d", "gaussian2d", "decay"];

    /// <summary>Names of the physics models from five domains (served when named, e.g. <c>--model neutrino-oscillation</c>).</summary>
    public static IReadOnlyList<string> DomainNames { get; } =
    [
        NeutrinoOscillationModel.Name, NeutrinoFitModel.Name, CosmicRayModel.Name, NuclearForceModel.Name, ThreePionDecayModel.Name, StructureFactorModel.Name,
    ];

    /// <summary>Every name <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> AllNames { get; } = [.. Names, .. DomainNames];

    /// <summary>A new instance of the named model.</summary>
    /// <exception cref="MaasException">NotFound for an unknown name.</exception>
    public static IModel Create(string name) => name switch
    {
        "gaussian1d" => GaussianModel.Create(1),
        "gaussian2d" => GaussianModel.Create(2),
        "decay" => DecayModel.Create(),
        NeutrinoOscillationModel.Name => NeutrinoOscillationModel.Create(),
        NeutrinoFitModel.Name => NeutrinoFitModel.Create(),
        CosmicRayModel.Name => CosmicRayModel.Create(),
        NuclearForceModel.Name => NuclearForceModel.Create(),
        ThreePionDecayModel.Name => ThreePionDecayModel.Create(),
        StructureFactorModel.Name => StructureFactorModel.Create(),
        _ => throw new MaasException(MaasErrorCode.NotFound, $"No built-in model '{name}'; choose one of: {string.Join(", ", AllNames)}."),
    };
}
