using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Demos.Maas.Models;
using Demos.Maas.Protocol;
using Demos.Maas.Server;
using Demos.Maas.Transports.Pipe;

namespace Demos.Maas.Benchmarks;

/// <summary>
/// Server-side cost alone: a blocking client that sends a pre-encoded request frame and reads the
/// response bytes without decoding them allocates nothing, so the allocations MemoryDiagnoser reports here
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
        // Blocking calls only: on Linux a socket that was used asynchronously once waits in every
        // later blocking Receive through an operation object allocated per wait, which
        // MemoryDiagnoser would count as the server's.
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _socket.Connect(new UnixDomainSocketEndPoint(path));
        _socket.Send(FrameCodec.EncodeFrame(new HelloMessage { Agent = "bench", MaxFrameBytes = 1 << 20 }));
        _socket.Receive(new byte[4096]);
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

    // Blocking socket calls: an async benchmark method would allocate its own state machine box
    // whenever a receive waits.
    [Benchmark(Description = "server handles one 1-point LogDensity")]
    public void OneRequest()
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(_request.AsSpan(7), ++_id);
        for (int sent = 0; sent < _request.Length;)
        {
            sent += _socket.Send(_request.AsSpan(sent), SocketFlags.None);
        }

        for (int read = 0; read < _response.Length;)
        {
            read += _socket.Receive(_response.AsSpan(read), SocketFlags.None);
        }
    }
}
