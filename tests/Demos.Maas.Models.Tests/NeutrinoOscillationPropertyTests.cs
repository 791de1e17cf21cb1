using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Demos.Maas.Models.Tests;

/// <summary>Conservation of probability for any parameters, energy, baseline and density (FsCheck).</summary>
public sealed class NeutrinoOscillationPropertyTests
{
    // Generated from a seed, so a failing case shrinks to and reports one number.
    private static readonly Arbitrary<double[]> Inputs = Gen.Choose(0, int.MaxValue).Select(seed => Draw((uint)seed)).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Probabilities_sum_to_one_over_final_and_over_initial_flavours() =>
        Prop.ForAll(Inputs, input =>
        {
            var p = new double[9];
            NeutrinoOscillations.Probabilities(input.AsSpan(0, 7), input[7], input[8], p, default);

            // Rounding grows with the largest phase (the scaling-and-squaring steps double it): the
            // documented accuracy is 1e-12 plus 2e-15 per radian.
            double a = NeutrinoOscillations.MatterPotentialPerDensityEnergy * 0.5 * input[6] * input[7];
            double spread = Math.Max(Math.Max(Math.Abs(input[5]), Math.Abs(input[5] - input[4])), input[4]) + a;
            double tolerance = 1e-12 + (2e-15 * NeutrinoOscillations.PhasePerUnit * spread * input[8] / (2 * input[7]));
            for (int i = 0; i < 3; i++)
            {
                if (Math.Abs(p[3 * i] + p[(3 * i) + 1] + p[(3 * i) + 2] - 1) > tolerance || Math.Abs(p[i] + p[3 + i] + p[6 + i] - 1) > tolerance)
                {
                    return false;
                }
            }

            return p.All(v => v >= -tolerance && v <= 1 + tolerance);
        });

    // Angles in [0, π/2], δ in [0, 2π), splittings of either ordering, density up to 13 g/cm³ (the
    // Earth's core), E from 10 MeV to 100 GeV and L up to the Earth's diameter.
    private static double[] Draw(uint seed)
    {
        var r = new SeededRandom(seed);
        return
        [
            r.NextDouble() * Math.PI / 2, r.NextDouble() * Math.PI / 2, r.NextDouble() * Math.PI / 2, r.NextDouble() * 2 * Math.PI,
            1e-5 + (r.NextDouble() * 2e-4), (r.NextDouble() - 0.5) * 1e-2, r.NextDouble() * 13,
            Math.Pow(10, -2 + (4 * r.NextDouble())), r.NextDouble() * 12_742,
        ];
    }
}
