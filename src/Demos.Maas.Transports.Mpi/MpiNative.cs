using System.Runtime.InteropServices;

namespace Demos.Maas.Transports.Mpi;

/// <summary>The C shim (native/maas_mpi_shim.c): ints, byte buffers and opaque pointers only.</summary>
internal static unsafe partial class MpiNative
{
    private const string Library = "maas_mpi_shim";

    [LibraryImport(Library, EntryPoint = "maas_mpi_init")]
    public static partial int Init(out int provided);

    [LibraryImport(Library, EntryPoint = "maas_mpi_finalize")]
    public static partial int Finalize();

    [LibraryImport(Library, EntryPoint = "maas_mpi_rank")]
    public static partial int Rank(nint comm, out int rank);

    [LibraryImport(Library, EntryPoint = "maas_mpi_size")]
    public static partial int Size(nint comm, out int size);

    [LibraryImport(Library, EntryPoint = "maas_mpi_remote_size")]
    public static partial int RemoteSize(nint comm, out int size);

    [LibraryImport(Library, EntryPoint = "maas_mpi_library_version")]
    public static partial int LibraryVersion(byte* text, int capacity);

    [LibraryImport(Library, EntryPoint = "maas_mpi_isend")]
    public static partial int Isend(nint comm, int dest, int tag, byte* buffer, int length, out nint request);

    [LibraryImport(Library, EntryPoint = "maas_mpi_test")]
    public static partial int Test(nint request, out int done);

    [LibraryImport(Library, EntryPoint = "maas_mpi_iprobe")]
    public static partial int Iprobe(nint comm, int source, int tag, out int flag, out int outSource, out int outTag, out int count);

    [LibraryImport(Library, EntryPoint = "maas_mpi_recv")]
    public static partial int Recv(nint comm, int source, int tag, byte* buffer, int length);

    [LibraryImport(Library, EntryPoint = "maas_mpi_open_port")]
    public static partial int OpenPort(byte* portName, int capacity);

    [LibraryImport(Library, EntryPoint = "maas_mpi_close_port")]
    public static partial int ClosePort(byte* portName);

    [LibraryImport(Library, EntryPoint = "maas_mpi_comm_accept")]
    public static partial int CommAccept(byte* portName, out nint comm);

    [LibraryImport(Library, EntryPoint = "maas_mpi_comm_connect")]
    public static partial int CommConnect(byte* portName, out nint comm);

    [LibraryImport(Library, EntryPoint = "maas_mpi_comm_disconnect")]
    public static partial int CommDisconnect(nint comm);

    [LibraryImport(Library, EntryPoint = "maas_mpi_error_string")]
    public static partial int ErrorString(int code, byte* text, int capacity);

    public static string Describe(int code)
    {
        byte* text = stackalloc byte[512];
        try
        {
            return ErrorString(code, text, 512) == 0 ? $"MPI error {code}: {Marshal.PtrToStringUTF8((nint)text)}" : $"MPI error {code}";
        }
        catch (DllNotFoundException)
        {
            return $"MPI error {code}";
        }
    }
}
