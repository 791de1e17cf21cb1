/*
 * An ABI-neutral face of the system's MPI library for Demos.Maas.
 *
 * Open MPI's handles are pointers and MPICH's are ints, so C# cannot bind libmpi directly without
 * knowing which one it got. This shim is compiled with the system's mpicc at build time and
 * exposes only ints, byte buffers and opaque heap pointers. All calls come from one .NET thread
 * (the transport's MPI thread), so MPI_THREAD_SERIALIZED is enough; it is what we request.
 *
 * Every function returns 0 on success or an MPI error code; errors are returned, not fatal
 * (MPI_ERRORS_RETURN on every communicator we use).
 */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

/* A communicator and whether we own it (COMM_WORLD is not ours to free). */
typedef struct { MPI_Comm comm; int owned; } shim_comm;

static shim_comm world = { 0 };

static MPI_Comm comm_of(void* c) { return c ? ((shim_comm*)c)->comm : MPI_COMM_WORLD; }

SHIM_EXPORT int maas_mpi_init(int* provided)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
        if (rc != MPI_SUCCESS) return rc;
    } else {
        MPI_Query_thread(provided);
    }
    world.comm = MPI_COMM_WORLD;
    /* Errors are returned, not fatal: COMM_SELF too, since accept/connect run on it. */
    int rc = MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    return rc != MPI_SUCCESS ? rc : MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

SHIM_EXPORT int maas_mpi_finalize(void)
{
    int finalized = 0;
    MPI_Finalized(&finalized);
    return finalized ? MPI_SUCCESS : MPI_Finalize();
}

SHIM_EXPORT int maas_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

SHIM_EXPORT int maas_mpi_rank(void* comm, int* rank) { return MPI_Comm_rank(comm_of(comm), rank); }

SHIM_EXPORT int maas_mpi_size(void* comm, int* size) { return MPI_Comm_size(comm_of(comm), size); }

/* Size of the remote group of an intercommunicator (from accept/connect). */
SHIM_EXPORT int maas_mpi_remote_size(void* comm, int* size) { return MPI_Comm_remote_size(comm_of(comm), size); }

SHIM_EXPORT int maas_mpi_library_version(char* text, int capacity)
{
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    int rc = MPI_Get_library_version(version, &length);
    if (rc != MPI_SUCCESS) return rc;
    strncpy(text, version, (size_t)capacity - 1);
    text[capacity - 1] = 0;
    return MPI_SUCCESS;
}

/* Starts a send of len bytes; *request receives a heap handle that maas_mpi_test frees. */
SHIM_EXPORT int maas_mpi_isend(void* comm, int dest, int tag, const void* buf, int len, void** request)
{
    MPI_Request* r = (MPI_Request*)malloc(sizeof(MPI_Request));
    if (!r) return MPI_ERR_NO_MEM;
    int rc = MPI_Isend(buf, len, MPI_BYTE, dest, tag, comm_of(comm), r);
    if (rc != MPI_SUCCESS) { free(r); return rc; }
    *request = r;
    return MPI_SUCCESS;
}

/* *done = 1 when the request completed (its handle is then freed). */
SHIM_EXPORT int maas_mpi_test(void* request, int* done)
{
    MPI_Request* r = (MPI_Request*)request;
    int rc = MPI_Test(r, done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || *done) free(r);
    return rc;
}

/* Non-blocking probe; source/tag -1 mean any. On a hit, the message's source, tag and byte count. */
SHIM_EXPORT int maas_mpi_iprobe(void* comm, int source, int tag, int* flag, int* out_source, int* out_tag, int* out_count)
{
    MPI_Status status;
    int rc = MPI_Iprobe(source < 0 ? MPI_ANY_SOURCE : source, tag < 0 ? MPI_ANY_TAG : tag, comm_of(comm), flag, &status);
    if (rc != MPI_SUCCESS || !*flag) return rc;
    *out_source = status.MPI_SOURCE;
    *out_tag = status.MPI_TAG;
    return MPI_Get_count(&status, MPI_BYTE, out_count);
}

/* Receives a message already found by maas_mpi_iprobe (so it does not block). */
SHIM_EXPORT int maas_mpi_recv(void* comm, int source, int tag, void* buf, int len)
{
    return MPI_Recv(buf, len, MPI_BYTE, source, tag, comm_of(comm), MPI_STATUS_IGNORE);
}

/* Mode 2: separate jobs. The server opens a port, publishes its name, and accepts. */
SHIM_EXPORT int maas_mpi_open_port(char* port_name, int capacity)
{
    char name[MPI_MAX_PORT_NAME];
    int rc = MPI_Open_port(MPI_INFO_NULL, name);
    if (rc != MPI_SUCCESS) return rc;
    strncpy(port_name, name, (size_t)capacity - 1);
    port_name[capacity - 1] = 0;
    return MPI_SUCCESS;
}

SHIM_EXPORT int maas_mpi_close_port(const char* port_name) { return MPI_Close_port((char*)port_name); }

static int wrap(MPI_Comm c, void** out)
{
    shim_comm* s = (shim_comm*)malloc(sizeof(shim_comm));
    if (!s) return MPI_ERR_NO_MEM;
    s->comm = c;
    s->owned = 1;
    MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
    *out = s;
    return MPI_SUCCESS;
}

SHIM_EXPORT int maas_mpi_comm_accept(const char* port_name, void** comm)
{
    MPI_Comm c;
    int rc = MPI_Comm_accept((char*)port_name, MPI_INFO_NULL, 0, MPI_COMM_SELF, &c);
    return rc != MPI_SUCCESS ? rc : wrap(c, comm);
}

SHIM_EXPORT int maas_mpi_comm_connect(const char* port_name, void** comm)
{
    MPI_Comm c;
    int rc = MPI_Comm_connect((char*)port_name, MPI_INFO_NULL, 0, MPI_COMM_SELF, &c);
    return rc != MPI_SUCCESS ? rc : wrap(c, comm);
}

SHIM_EXPORT int maas_mpi_comm_disconnect(void* comm)
{
    shim_comm* s = (shim_comm*)comm;
    if (!s) return MPI_SUCCESS;
    int rc = s->owned ? MPI_Comm_disconnect(&s->comm) : MPI_SUCCESS;
    free(s);
    return rc;
}

SHIM_EXPORT int maas_mpi_error_string(int code, char* text, int capacity)
{
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, message, &length) != MPI_SUCCESS) {
        strncpy(text, "unknown MPI error", (size_t)capacity - 1);
    } else {
        strncpy(text, message, (size_t)capacity - 1);
    }
    text[capacity - 1] = 0;
    return MPI_SUCCESS;
}
