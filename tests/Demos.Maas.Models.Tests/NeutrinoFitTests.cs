using Demos.Maas.Client;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;

namespace Demos.Maas.Models.Tests;

/// <summary>The binned Poisson likelihood: its gradient, its dataset and where it peaks.</summary>
public sealed class NeutrinoFitTests
{
    private static readonly double[] Defaults = [.. NeutrinoOscillations.Defaults];

    [Fact]
    public async Task The_theta_gradient_equals_finite_differences_of_the_log_likelihood()
    {
        var model = NeutrinoFitModel.Create();
        using var observed = await model.ReadDatasetMatrixAsync("observed");
        double[] at = [.. Defaults];
        at[2] = 0.8; at[5] = 2.45e-3;
        using var gradient = await model.GradientAsync(GradientKind.LogDensityWrtTheta, observed, theta: at);
        for (int k = 0; k < NeutrinoOscillations.ParameterCount; k++)
        {
            double numeric = NumericChecks.CentralDifference(t => model.LogDensityAsync(observed.ToArray(), t).AsTask().Result, at, k, 1e-6, k == 6 ? 1 : 1e-3);
            double scale = k is 4 or 5 ? at[k] : 1;
            Assert.True(Math.Abs((numeric - gradient[0, k]) * scale) < 1e-4 * Math.Max(1, Math.Abs(gradient[0, k] * scale)), $"d logL / d theta{k}: analytic {gradient[0, k]}, numeric {numeric}");
        }
    }

    [Fact]
    public async Task The_toy_data_are_counts_and_the_likelihood_prefers_the_true_atmospheric_parameters()
    {
        var model = NeutrinoFitModel.Create();
        using var observed = await model.ReadDatasetMatrixAsync("observed");
        Assert.Equal(2 * NeutrinoFitModel.Bins, observed.Columns);
        Assert.All(observed.ToArray(), k => Assert.Equal(Math.Round(k), k));

        // A profile in Δm²31: the maximum is within 2 % of the value the data were drawn at.
        double best = double.NegativeInfinity, where = 0;
        for (double dm31 = 2.0e-3; dm31 <= 3.0e-3; dm31 += 1e-5)
        {
            double[] theta = [.. Defaults];
            theta[5] = dm31;
            double logL = await model.LogDensityAsync(observed.ToArray(), theta);
            if (logL > best) { best = logL; where = dm31; }
        }

        Assert.InRange(where, Defaults[5] * 0.98, Defaults[5] * 1.02);
    }

    [Fact]
    public void Log_gamma_matches_factorials_and_the_half_integer_value()
    {
        double logFactorial = 0;
        for (int n = 1; n < 200; n++)
        {
            logFactorial += Math.Log(n);
            NumericChecks.Close(logFactorial, SpecialFunctions.LogGamma(n + 1), 1e-13, 1, $"ln {n}!");
        }

        Assert.Equal(0.5 * Math.Log(Math.PI), SpecialFunctions.LogGamma(0.5), 14);
    }

    [Fact]
    public async Task A_metropolis_fit_through_a_unix_socket_recovers_the_atmospheric_parameters()
    {
        await using var server = new MaasServer(transports: [new PipeTransport()]);
        server.AddModel(NeutrinoFitModel.Create());
        var uri = await server.ListenAsync($"pipe://{Path.Combine(Path.GetTempPath(), $"maas-fit-{Guid.NewGuid():N}.sock")}");
        var options = new MaasClientOptions();
        options.Transports.Add(new PipeTransport());
        await using var client = await MaasClient.ConnectAsync(uri.ToString(), options);
        var model = await client.GetModelAsync(NeutrinoFitModel.Name);
        using var observed = await model.ReadDatasetMatrixAsync("observed");

        var steps = new Dictionary<string, double> { ["theta23"] = 0.006, ["dm31"] = 1.2e-5, ["theta13"] = 0.005, ["deltaCP"] = 0.3 };
        var chain = await MetropolisFit.RunAsync(model, observed, steps, 2000, seed: 17);
        var again = await MetropolisFit.RunAsync(model, observed, steps, 40, seed: 17);
        Assert.Equal(chain.Draws[0, 1], (await MetropolisFit.RunAsync(model, observed, steps, 2000, seed: 17)).Draws[0, 1]);
        Assert.InRange(chain.Acceptance, 0.1, 0.9);
        Assert.InRange(chain.Quantile("dm31", 0.5), Defaults[5] * 0.98, Defaults[5] * 1.02);
        Assert.InRange(chain.Quantile("theta23", 0.5), Defaults[2] - 0.05, Defaults[2] + 0.05);
        Assert.Equal(30, again.Draws.GetLength(0));
    }
}
