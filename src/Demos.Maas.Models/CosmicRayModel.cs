namespace Demos.Maas.Models;

/// <summary>
/// The model "cosmic-ray-propagation": electrons from a continuous point source, diffusing and
/// cooling (<see cref="CosmicRayDiffusion"/>), seen by an observer at distance r_obs. Evaluate maps
/// x = (E [GeV]) to the density n(E, r_obs) in 1/(GeV kpc³) per unit injection; LogDensity is the
/// normalised distribution of arrival energies between E_min and E_max; Sample draws arrival
/// energies from it (exact accept–reject under a piecewise-constant envelope).
/// </summary>
public static class CosmicRayModel
{
    /// <summary>Name the model is served under.</summary>
    public const string Name = "cosmic-ray-propagation";

    /// <summary>Uuid of the model.</summary>
    public static readonly Guid Uuid = new("0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a16");

    /// <summary>Parameter indices beyond <see cref="CosmicRayDiffusion.Defaults"/>.</summary>
    public const int ObserverIndex = 4, MinimumIndex = 5, MaximumIndex = 6;

    /// <summary>Builds the model.</summary>
    public static IModel Create()
    {
        var cache = new ArrivalSpectrumCache();
        var d = CosmicRayDiffusion.Defaults;
        return ModelBuilder.Create(Name)
            .WithUuid(Uuid)
            .WithVersion("1.0.0")
            .WithDescription("Cosmic-ray electrons from a steady point source with diffusion and synchrotron/IC losses (Syrovatskii's solution) at distance r_obs: Evaluate x = (E [GeV]) -> n(E, r_obs); LogDensity and Sample: arrival energies in [E_min, E_max].")
            .WithAuthors("Demos.Maas examples")
            .WithInputDimension(1)
            .WithScalarParameter("gamma", d[0], 1.5, 4, "injection index, Q ~ E^-gamma")
            .WithScalarParameter("D0", d[1], 1e-4, 100, "diffusion coefficient at 1 GeV [kpc^2/Myr]")
            .WithScalarParameter("delta", d[2], 0, 0.95, "diffusion index, D ~ E^delta")
            .WithScalarParameter("b0", d[3], 1e-12, 1, "loss coefficient, dE/dt = -b0 E^2 [1/(GeV Myr)]")
            .WithScalarParameter("robs", 1.0, 1e-3, 100, "distance of the observer from the source [kpc]")
            .WithScalarParameter("Emin", 1.0, 1e-3, 1e6, "lowest arrival energy of LogDensity and Sample [GeV]")
            .WithScalarParameter("Emax", 1e4, 1e-3, 1e7, "highest arrival energy of LogDensity and Sample [GeV]")
            .WithEvaluate(1, (a, result) =>
            {
                for (int i = 0; i < a.Rows; i++)
                {
                    result[i] = CosmicRayDiffusion.Density(a.X[i], a.Theta[ObserverIndex], a.Theta);
                }
            })
            .WithLogDensity((a, result) =>
            {
                var table = cache.Get(a.Theta);
                for (int i = 0; i < a.Rows; i++)
                {
                    double e = a.X[i];
                    result[i] = e >= a.Theta[MinimumIndex] && e <= a.Theta[MaximumIndex]
                        ? Math.Log(CosmicRayDiffusion.Density(e, a.Theta[ObserverIndex], a.Theta) / table.Normalisation)
                        : double.NegativeInfinity;
                }
            })
            .WithSampler((a, result) =>
            {
                var table = cache.Get(a.Theta);
                for (int i = 0; i < a.Rows; i++)
                {
                    result[i] = table.Draw(a.Random);
                }
            })
            .Build();
    }
}
