using Demos.Maas.UmBridge;
using Demos.Maas;
using Demos.Maas.Client;
using Demos.Maas.Models;
using Demos.Maas.Registry;
using Demos.Maas.Server;
using Demos.Maas.Transports.Http;
using Demos.Maas.Transports.Pipe;
using Demos.Maas.Transports.Shm;
using Demos.Maas.Transports.Tcp;

// Besides being compiled with every library rooted, the native binary runs one round trip per
// transport, so "publishes without warnings" also means "works" under NativeAOT.
await using var server = new MaasServer(transports: [new PipeTransport(), new ShmTransport(), new TcpTransport(), new HttpTransport(new HttpTransportOptions().AddUmBridgeRoutes())]);
server.AddModel(GaussianModel.Create(2)).AddModel(DecayModel.Create());
string socket = Path.Combine(Path.GetTempPath(), $"maas-aot-{Environment.ProcessId}.sock");
var uris = new[] { await server.ListenAsync("inproc://aot-check"), await server.ListenAsync($"pipe://{socket}"), await server.ListenAsync($"shm://maas-aot-{Environment.ProcessId}"), await server.ListenAsync("tcp://127.0.0.1:0"), await server.ListenAsync("http://127.0.0.1:0") };
var options = new MaasClientOptions();
options.Transports.Add(new PipeTransport());
options.Transports.Add(new ShmTransport());
options.Transports.Add(new TcpTransport());
options.Transports.Add(new HttpTransport());
foreach (var uri in uris)
{
    await using var client = await MaasClient.ConnectAsync(uri, options);
    var model = await client.GetModelAsync("gaussian2d");
    double logp = await model.LogDensityAsync([0.0, 0.0]);
    using var draws = await model.SampleMatrixAsync(10, seed: 1);
    var decay = await client.GetModelAsync("decay");
    double[] y = await decay.EvaluateAsync([100.0, 0.3]);
    Console.WriteLine($"{uri}: log p(0) = {logp:R}, {draws.Rows} draws, F[0] = {y[0]:R}");
    if (Math.Abs(logp - GaussianModel.LogDensityOf([0.0, 0.0], [0.0, 0.0], [1.0, 1.0])) > 1e-12)
    {
        return 1;
    }
}

// The UM-Bridge route and client under NativeAOT too.
var umbridge = await UmBridgeModel.ConnectAsync(new Uri($"umbridge+http://127.0.0.1:{uris[^1].Port}/decay"));
double[] viaUmBridge = await umbridge.EvaluateAsync([100.0, 0.3]);
Console.WriteLine($"{uris[^1]} UM-Bridge: F[0] = {viaUmBridge[0]:R}");
if (Math.Abs(viaUmBridge[0] - DecayModel.Activity(100, 0.3, 5, 0)) > 1e-9)
{
    return 1;
}

// The registry (SQLite store, REST, key authentication) and maas:// resolution under NativeAOT too.
string registryDb = Path.Combine(Path.GetTempPath(), $"maas-aot-{Environment.ProcessId}.db");
string key = RegistryKey.Generate();
var registryOptions = new RegistryServerOptions { Listen = "http://127.0.0.1:0", Store = registryDb, KeyHash = RegistryKey.Hash(key) };
await using (var registry = await RegistryServer.StartAsync(registryOptions))
{
    var decayInfo = DecayModel.Create().Info;
    var reference = new MaasReference { Uuid = decayInfo.Uuid, Endpoint = uris[3].ToString(), Version = decayInfo.Version, Checksum = ModelChecksum.Compute(decayInfo, null) };
    using var writer = new RegistryClient(registry.Uri, key);
    await writer.RegisterAsync(new RegistrationRequest { Name = "decay", Reference = MaasReferenceJson.Parse(MaasReferenceJson.Serialize(reference)), Endpoints = [new EndpointRegistration { Uri = uris[3].ToString() }] });
    options.Transports.Add(new RegistryTransport(new RegistryResolverOptions { Registry = registry.Uri.ToString() }));
    await using var byUuid = await MaasClient.ConnectAsync($"maas://{decayInfo.Uuid}", options);
    double[] viaRegistry = await (await byUuid.GetModelAsync(decayInfo.Uuid)).EvaluateAsync([100.0, 0.3]);
    Console.WriteLine($"maas://{decayInfo.Uuid}: F[0] = {viaRegistry[0]:R}");
    if (Math.Abs(viaRegistry[0] - DecayModel.Activity(100, 0.3, 5, 0)) > 1e-9)
    {
        return 1;
    }
}

File.Delete(registryDb);
return 0;
