using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// Server-side cost alone: a client that sends a pre-encoded request frame and reads the response
/// bytes without decoding them allocates nothing, so the allocations MemoryDiagnoser reports here
/// are the server's.
/// </summary>
[Config(typeof(RoundTripConfig))]
public class ServerSideAllocations
{
    private MaasServer _server = null!;
    private Socket _socket = null!;
    private byte[] _request = null!;
    private byte[] _response = null!;
    private uint _id = 1u << 28;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        string path = Path.Combine(Path.GetTempPath(), $"maas-alloc-{Guid.NewGuid():N}.sock");
        _server = new MaasServer(transports: [new PipeTransport()]);
        _server.AddModel(GaussianModel.Create(1));
        await _server.ListenAsync($"pipe://{path}");
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await _socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await _socket.SendAsync(FrameCodec.EncodeFrame(new HelloMessage { Agent = "bench", MaxFrameBytes = 1 << 20 }));
        var welcome = new byte[4096];
        await _socket.ReceiveAsync(welcome);
        using var x = Fixture.Points(1);
        // Ids from 2^28 up are encoded as uint32 (5 bytes), so the id can be patched in place without re-encoding.
        _request = FrameCodec.EncodeFrame(new MaasRequest { Id = _id, Operation = Operation.LogDensity, Model = "gaussian1d", X = x });
        _response = new byte[Fixture.FrameSizes(1, _id).Response];
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _socket.Dispose();
        await _server.DisposeAsync();
    }

    [Benchmark(Description = "server handles one 1-point LogDensity")]
    public async Task OneRequest()
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(_request.AsSpan(7), ++_id);
        int sent = 0;
        while (sent < _request.Length)
        {
            sent += await _socket.SendAsync(_request.AsMemory(sent), SocketFlags.None);
        }

        int read = 0;
        while (read < _response.Length)
        {
            read += await _socket.ReceiveAsync(_response.AsMemory(read), SocketFlags.None);
        }
    }
}
