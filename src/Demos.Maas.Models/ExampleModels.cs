namespace Demos.Maas.Models;

/// <summary>The built-in example models, by name (what <c>maas serve --model NAME</c> accepts).</summary>
public static class ExampleModels
{
    /// <summary>Names of the built-in models.</summary>
    public static IReadOnlyList<string> Names { get; } = ["gaussian1d", "gaussian2d", "decay"];

    /// <summary>A new instance of the named model.</summary>
    /// <exception cref="MaasException">NotFound for an unknown name.</exception>
    public static IModel Create(string name) => name switch
    {
        "gaussian1d" => GaussianModel.Create(1),
        "gaussian2d" => GaussianModel.Create(2),
        "decay" => DecayModel.Create(),
        _ => throw new MaasException(MaasErrorCode.NotFound, $"No built-in model '{name}'; choose one of: {string.Join(", ", Names)}."),
    };
}
