using System.Runtime.InteropServices;
using System.Text;
using Demos.Maas.Client;
using Demos.Maas.Server;
using Demos.Maas.Transport;

namespace Demos.Maas.Transports.Mpi;

/// <summary>
/// Mode 2, separate jobs: a server job opens an MPI port (<c>MPI_Open_port</c>), publishes its
/// name in a file, and accepts one client job (<c>MPI_Comm_accept</c>); the client job reads the
/// file and connects (<c>MPI_Comm_connect</c>). The protocol then runs over the intercommunicator
/// exactly as over MPI_COMM_WORLD. With Open MPI, both jobs must reach the same PMIx/ompi-server
/// (docs/mpi.md).
/// </summary>
public static class MpiPort
{
    /// <summary>Opens a port, writes its name to <paramref name="portFile"/>, accepts one client and serves it until it disconnects.</summary>
    public static async Task ServeAsync(MaasServer server, string portFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        var runtime = await MpiRuntime.StartAsync().ConfigureAwait(false);
        try
        {
            string port = await runtime.RunAsync(OpenPort).ConfigureAwait(false);
            await File.WriteAllTextAsync(portFile + ".tmp", port, cancellationToken).ConfigureAwait(false);
            File.Move(portFile + ".tmp", portFile, overwrite: true);
            nint comm = await runtime.RunAsync(() => Accept(port)).ConfigureAwait(false);
            runtime.AddCommunicator(comm);
            var endpoint = runtime.Open(comm, 0, "mpi-port");
            using var stop = cancellationToken.Register(endpoint.Abort);
            await server.ServeConnectionAsync(endpoint).ConfigureAwait(false);
            runtime.RemoveCommunicator(comm);
            await runtime.RunAsync(() => MpiNative.CommDisconnect(comm)).ConfigureAwait(false);
            await runtime.RunAsync(() => ClosePort(port)).ConfigureAwait(false);
        }
        finally
        {
            await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await runtime.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads the port name from <paramref name="portFile"/> and connects a client to the server job.</summary>
    public static async Task<MaasClient> ConnectAsync(string portFile, MaasClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(portFile))
        {
            throw new MaasException(MaasErrorCode.Unavailable, $"No MPI port file '{portFile}': start the server job first.");
        }

        string port = (await File.ReadAllTextAsync(portFile, cancellationToken).ConfigureAwait(false)).Trim();
        var runtime = await MpiRuntime.StartAsync().ConfigureAwait(false);
        nint comm = await runtime.RunAsync(() => Connect(port)).ConfigureAwait(false);
        runtime.AddCommunicator(comm);
        options ??= new MaasClientOptions();
        options.Reconnect = false;
        options.Retry = null;
        options.Transports.Add(new PortTransport(runtime, comm));
        return await MaasClient.ConnectAsync(new Uri("mpi-port://0"), options, cancellationToken).ConfigureAwait(false);
    }

    private static unsafe string OpenPort()
    {
        byte* name = stackalloc byte[1024];
        int rc = MpiNative.OpenPort(name, 1024);
        return rc == 0 ? Marshal.PtrToStringUTF8((nint)name)! : throw new MaasException(MaasErrorCode.Unavailable, $"MPI_Open_port failed: {MpiNative.Describe(rc)}.");
    }

    private static unsafe int ClosePort(string port)
    {
        fixed (byte* name = Encoding.UTF8.GetBytes(port + "\0"))
        {
            return MpiNative.ClosePort(name);
        }
    }

    private static unsafe nint Accept(string port)
    {
        fixed (byte* name = Encoding.UTF8.GetBytes(port + "\0"))
        {
            int rc = MpiNative.CommAccept(name, out nint comm);
            return rc == 0 ? comm : throw new MaasException(MaasErrorCode.Unavailable, $"MPI_Comm_accept failed: {MpiNative.Describe(rc)}.");
        }
    }

    private static unsafe nint Connect(string port)
    {
        fixed (byte* name = Encoding.UTF8.GetBytes(port + "\0"))
        {
            int rc = MpiNative.CommConnect(name, out nint comm);
            return rc == 0 ? comm : throw new MaasException(MaasErrorCode.Unavailable, $"MPI_Comm_connect to '{port}' failed: {MpiNative.Describe(rc)}.");
        }
    }

    private sealed class PortTransport(MpiRuntime runtime, nint comm) : IMaasConnectionFactory
    {
        public bool CanHandle(Uri uri) => uri.Scheme == "mpi-port";

        public ValueTask<MaasConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<MaasConnection>(runtime.Open(comm, 0, "mpi-port"));
    }
}
