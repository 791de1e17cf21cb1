using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Demos.Maas.Transports.Mpi;

/// <summary>
/// The process's MPI: one dedicated thread initialises MPI, makes every MPI call, and finalises it
/// (all calls are funnelled through this thread; MPI_THREAD_SERIALIZED is requested). It sends
/// queued messages, polls for incoming ones and hands them to the endpoint of their
/// (communicator, peer). MPI is started once per process and finalised when this is disposed.
/// </summary>
public sealed class MpiRuntime : IAsyncDisposable
{
    /// <summary>Message tag of connection bytes.</summary>
    internal const int DataTag = 1;

    /// <summary>Message tag that closes one direction of a connection.</summary>
    internal const int CloseTag = 2;

    private static readonly Lock StartLock = new();
    private static MpiRuntime? s_current;

    private readonly Thread _thread;
    private readonly ConcurrentQueue<Action> _work = new();
    private readonly List<PendingSend> _sends = [];
    private readonly ConcurrentDictionary<(nint Comm, int Peer), MpiEndpoint> _endpoints = new();
    private readonly ConcurrentDictionary<(nint Comm, int Peer), ConcurrentQueue<(int Tag, byte[] Data)>> _early = new();
    private readonly ConcurrentDictionary<nint, byte> _communicators = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    private MpiRuntime()
    {
        _communicators[0] = 0;
        _thread = new Thread(Run) { IsBackground = true, Name = "MPI" };
        _thread.Start();
    }

    /// <summary>This process's rank in MPI_COMM_WORLD.</summary>
    public int Rank { get; private set; }

    /// <summary>Number of ranks in MPI_COMM_WORLD.</summary>
    public int Size { get; private set; }

    /// <summary>The thread level MPI granted.</summary>
    public int ThreadLevel { get; private set; }

    /// <summary>The MPI library's own version string.</summary>
    public string LibraryVersion { get; private set; } = "";

    /// <summary>Starts MPI (once per process) on the MPI thread.</summary>
    /// <exception cref="MaasException">Unavailable when the shim or MPI cannot be loaded or initialised.</exception>
    public static async Task<MpiRuntime> StartAsync()
    {
        MpiRuntime runtime;
        lock (StartLock)
        {
            runtime = s_current ??= new MpiRuntime();
        }

        await runtime._started.Task.ConfigureAwait(false);
        return runtime;
    }

    /// <summary>Opens (or returns) the connection endpoint to <paramref name="peer"/> on a communicator (0 = MPI_COMM_WORLD).</summary>
    internal MpiEndpoint Open(nint comm, int peer, string name)
    {
        var endpoint = _endpoints.GetOrAdd((comm, peer), key => new MpiEndpoint(this, key.Comm, key.Peer, name));
        if (_early.TryRemove((comm, peer), out var early))
        {
            while (early.TryDequeue(out var message))
            {
                endpoint.Deliver(message.Tag, message.Data);
            }
        }

        return endpoint;
    }

    internal void Forget(MpiEndpoint endpoint) => _endpoints.TryRemove(((nint)endpoint.Communicator, endpoint.Peer), out _);

    /// <summary>Sends the first <paramref name="length"/> bytes of <paramref name="data"/>; completes when MPI has given the buffer back.</summary>
    internal Task SendAsync(nint comm, int peer, int tag, byte[] data, int length)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_stopping && _stopped.Task.IsCompleted)
        {
            done.SetException(new MaasException(MaasErrorCode.Unavailable, "MPI is finalised."));
            return done.Task;
        }

        _work.Enqueue(() =>
        {
            var handle = GCHandle.Alloc(data, GCHandleType.Pinned);
            int rc;
            nint request;
            unsafe
            {
                rc = MpiNative.Isend(comm, peer, tag, (byte*)handle.AddrOfPinnedObject(), length, out request);
            }

            if (rc != 0)
            {
                handle.Free();
                done.TrySetException(new MaasException(MaasErrorCode.Unavailable, $"Sending to rank {peer} failed: {MpiNative.Describe(rc)}."));
                return;
            }

            _sends.Add(new PendingSend(request, handle, done, peer));
        });
        return done.Task;
    }

    /// <summary>Runs <paramref name="operation"/> on the MPI thread (for blocking MPI calls such as accept and connect).</summary>
    internal Task<T> RunAsync<T>(Func<T> operation)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Enqueue(() =>
        {
            try
            {
                done.SetResult(operation());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        return done.Task;
    }

    internal void AddCommunicator(nint comm) => _communicators[comm] = 0;

    internal void RemoveCommunicator(nint comm) => _communicators.TryRemove(comm, out _);

    /// <summary>Waits for queued sends to finish, then finalises MPI.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        await _stopped.Task.ConfigureAwait(false);
    }

    private unsafe void Run()
    {
        try
        {
            int rc = MpiNative.Init(out int provided);
            if (rc != 0)
            {
                _started.SetException(new MaasException(MaasErrorCode.Unavailable, $"MPI_Init_thread failed: {MpiNative.Describe(rc)}."));
                return;
            }

            ThreadLevel = provided;
            MpiNative.Rank(0, out int rank);
            MpiNative.Size(0, out int size);
            Rank = rank;
            Size = size;
            byte* version = stackalloc byte[512];
            LibraryVersion = MpiNative.LibraryVersion(version, 512) == 0 ? Marshal.PtrToStringUTF8((nint)version)?.Split('\n')[0].Trim() ?? "" : "unknown";
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            _started.SetException(new MaasException(MaasErrorCode.Unavailable, $"The MPI shim (libmaas_mpi_shim.so) or the MPI library could not be loaded: {ex.Message}. Install an MPI (apt-get install openmpi-bin libopenmpi-dev) and rebuild so that mpicc compiles the shim."));
            _stopped.SetResult();
            return;
        }

        _started.SetResult();
        int idle = 0;
        while (true)
        {
            bool busy = false;
            while (_work.TryDequeue(out var work))
            {
                work();
                busy = true;
            }

            for (int i = _sends.Count - 1; i >= 0; i--)
            {
                var send = _sends[i];
                int rc = MpiNative.Test(send.Request, out int done);
                if (rc != 0 || done != 0)
                {
                    send.Buffer.Free();
                    _sends.RemoveAt(i);
                    if (rc != 0)
                    {
                        send.Done.TrySetException(new MaasException(MaasErrorCode.Unavailable, $"Sending to rank {send.Peer} failed: {MpiNative.Describe(rc)}."));
                    }
                    else
                    {
                        send.Done.TrySetResult();
                    }

                    busy = true;
                }
            }

            foreach (nint comm in _communicators.Keys)
            {
                busy |= Receive(comm);
            }

            if (_stopping && _sends.Count == 0 && _work.IsEmpty)
            {
                break;
            }

            // Poll hard while messages flow, back off when idle: MPI only progresses when called.
            idle = busy ? 0 : idle + 1;
            if (idle > 2000)
            {
                Thread.Sleep(1);
            }
            else if (idle > 50)
            {
                Thread.Yield();
            }
        }

        foreach (var endpoint in _endpoints.Values)
        {
            endpoint.Deliver(CloseTag, []);
        }

        int finalized = MpiNative.Finalize();
        if (finalized != 0)
        {
            _stopped.TrySetException(new MaasException(MaasErrorCode.Internal, $"MPI_Finalize failed: {MpiNative.Describe(finalized)}."));
            return;
        }

        _stopped.TrySetResult();
    }

    private unsafe bool Receive(nint comm)
    {
        bool any = false;
        while (MpiNative.Iprobe(comm, -1, -1, out int flag, out int source, out int tag, out int count) == 0 && flag != 0)
        {
            var data = count == 0 ? [] : new byte[count];
            int rc;
            fixed (byte* buffer = data)
            {
                rc = MpiNative.Recv(comm, source, tag, buffer, count);
            }

            if (rc != 0)
            {
                // A message that cannot be received ends that peer's connection rather than corrupting its stream.
                tag = CloseTag;
            }

            if (_endpoints.TryGetValue((comm, source), out var endpoint))
            {
                endpoint.Deliver(tag, data);
            }
            else
            {
                // A peer may speak before this rank opened its endpoint: keep the bytes for it.
                _early.GetOrAdd((comm, source), _ => new ConcurrentQueue<(int, byte[])>()).Enqueue((tag, data));
            }

            any = true;
        }

        return any;
    }

    private readonly record struct PendingSend(nint Request, GCHandle Buffer, TaskCompletionSource Done, int Peer);
}
