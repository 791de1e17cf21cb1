using System.Collections.Concurrent;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Demos.Maas.Transports.Http.Tests;

/// <summary>How many connections the HTTP/1.1 client opens to one server.</summary>
public sealed class ConnectionPoolTests
{
    [Fact]
    public async Task Concurrent_calls_beyond_the_connection_limit_wait_for_a_connection_instead_of_opening_more()
    {
        await using var server = new MaasServer();

        server.AddModel(new SlowModel());

        var connections = new ConcurrentDictionary<string, bool>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.Use((context, next) =>
        {
            connections.TryAdd(context.Connection.Id, true);
            return next(context);
        });
        app.MapMaas(server);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        var options = new MaasClientOptions();
        options.Transports.Add(new HttpTransport(new HttpTransportOptions { MaxConnectionsPerServer = 4 }));
        await using var client = await MaasClient.ConnectAsync(address, options);
        var slow = await client.GetModelAsync("slow");
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i => (i, logp: await slow.LogDensityAsync([i]))));

        Assert.All(answers, a => Assert.Equal(2.0 * a.i, a.logp));
        Assert.InRange(connections.Count, 1, 4);
        await app.StopAsync();
    }

    [Fact]
    public void A_connection_limit_below_one_is_refused()
    {
        var options = new HttpTransportOptions();
        Assert.Equal(100, options.MaxConnectionsPerServer);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxConnectionsPerServer = 0);
        Assert.Equal(100, options.MaxConnectionsPerServer);
    }

    /// <summary>Doubles x after a short wait, so two hundred concurrent calls overlap and an unbounded pool opens many connections.</summary>
    private sealed class SlowModel : ModelBase
    {
        public override ModelInfo Info { get; } = new() { Name = "slow", InputDimension = 1, Capabilities = ModelCapabilities.LogDensity };

        public override async ValueTask<DoubleMatrix> LogDensityAsync(DoubleMatrix x, ReadOnlyMemory<double> theta = default, CancellationToken cancellationToken = default)
        {
            await Task.Delay(2, cancellationToken);
            return DoubleMatrix.FromPoint(2 * x[0, 0]);
        }
    }
}
