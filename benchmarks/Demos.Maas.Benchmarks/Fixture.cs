using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Tcp;

namespace Demos.Maas.Benchmarks;

/// <summary>A server hosting the 1-D Gaussian, a client connected to it, and the exact frame sizes of one call.</summary>
internal sealed class Fixture : IAsyncDisposable
{
    private Fixture(MaasServer server, MaasClient client, IModel model, DoubleMatrix x)
    {
        Server = server;
        Client = client;
        Model = model;
        X = x;
    }

    public MaasServer Server { get; }

    public MaasClient Client { get; }

    public IModel Model { get; }

    public DoubleMatrix X { get; }

    public static async Task<Fixture> StartAsync(string listen, int points)
    {
        var server = new MaasServer(transports: [new PipeTransport(), new TcpTransport()]);
        server.AddModel(GaussianModel.Create(1));
        var uri = await server.ListenAsync(listen);
        var options = new MaasClientOptions();
        options.Transports.Add(new PipeTransport());
        options.Transports.Add(new TcpTransport());
        var client = await MaasClient.ConnectAsync(uri, options);
        var model = await client.GetModelAsync("gaussian1d");
        return new Fixture(server, client, model, Points(points));
    }

    public static DoubleMatrix Points(int n)
    {
        var x = DoubleMatrix.Rent(n, 1);
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = (i % 1000) / 250.0;
        }

        return x;
    }

    /// <summary>Bytes on the wire of one LogDensity request and its response for <paramref name="points"/> points.</summary>
    public static (int Request, int Response) FrameSizes(int points, uint id = 1000)
    {
        using var x = Points(points);
        using var y = Points(points);
        int request = FrameCodec.EncodeFrame(new MaasRequest { Id = id, Operation = Operation.LogDensity, Model = GaussianModel.Uuid1D.ToString("D"), X = x }).Length;
        int response = FrameCodec.EncodeFrame(new MaasResponse { Id = id, Y = y }).Length;
        return (request, response);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        X.Dispose();
    }
}
