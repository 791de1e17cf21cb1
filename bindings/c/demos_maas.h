/*
 * demos_maas.h — the C ABI of libdemos_maas.so (Demos.Maas: Models as a Service).
 *
 * One shared library holds both the client and the server (it is the .NET library compiled with
 * NativeAOT; it needs nothing at run time beyond libc and libm).  Link with -ldemos_maas, or load
 * it with dlopen/ctypes/ccall.
 *
 * ERRORS
 *   Every function except maas_version, maas_last_error, maas_status_name, maas_free and
 *   maas_callback_error returns a status code: MAAS_OK (0) or one of the protocol's error codes
 *   1..13 (docs/protocol.md, "Error codes").  After a non-zero status, maas_last_error() gives a
 *   human-readable message for the calling thread.  No exception or signal ever crosses the
 *   boundary: a NULL, unknown or closed handle, a NULL pointer where data is needed, a buffer that
 *   is too small — each is MAAS_INVALID_ARGUMENT with a message, never a crash.
 *
 * OWNERSHIP
 *   - Input arrays and strings are caller-owned and only read during the call; the library never
 *     keeps a pointer to them after the call returns.
 *   - Output arrays (double* out + capacity) are caller-owned.  The needed length is checked
 *     *before* any remote work: when capacity is too small the call fails with
 *     MAAS_INVALID_ARGUMENT and *out_len holds the needed number of values.
 *   - Strings returned through char** (JSON documents, URIs) are library-owned: release each with
 *     maas_free().  A char** out parameter is set to NULL when the call fails, so it can always be
 *     passed to maas_free.  maas_version(), maas_status_name() and maas_last_error() return library-owned
 *     strings that must NOT be freed.
 *   - Arrays are row-major float64: a batch of n points of dimension d is n*d doubles, point i at
 *     x[i*d .. i*d+d-1].
 *
 * THREADS
 *   - All functions are thread-safe.  One client handle may be used from many threads at once;
 *     concurrent calls share one connection and run in parallel.
 *   - maas_last_error() and maas_callback_error() are per thread.
 *   - Server callbacks run on the library's worker threads, several at once (also for one model),
 *     unless the model is registered with MAAS_MODEL_SERIAL, in which case at most one callback of
 *     that model runs at any time.  The "workers" setting of the server bounds how many callbacks
 *     of one model run at once.  Callbacks must not call maas_server_stop/free on their own server.
 *
 * HANDLES
 *   Opaque, never dereferenced by the caller.  A handle is a registry key, not an address: using a
 *   closed or freed handle again gives MAAS_INVALID_ARGUMENT ("unknown or already closed").
 */
#ifndef DEMOS_MAAS_H
#define DEMOS_MAAS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes (the protocol's error table) ------------------------------------------------ */
typedef enum maas_status {
    MAAS_OK = 0,
    MAAS_INVALID_ARGUMENT = 1,   /* bad handle, NULL pointer, wrong size/shape, bad JSON, too-small buffer */
    MAAS_NOT_FOUND = 2,          /* no such model, dataset or parameter */
    MAAS_UNSUPPORTED = 3,        /* the model lacks the capability */
    MAAS_MODEL_ERROR = 4,        /* the model (a callback) failed; message from maas_callback_error */
    MAAS_DEADLINE_EXCEEDED = 5,
    MAAS_CANCELLED = 6,          /* also: a chunk callback returned non-zero */
    MAAS_UNAUTHENTICATED = 7,
    MAAS_PERMISSION_DENIED = 8,
    MAAS_RESOURCE_EXHAUSTED = 9, /* a batch too large for one frame, server overloaded */
    MAAS_UNAVAILABLE = 10,       /* cannot connect, connection lost, server stopping */
    MAAS_PROTOCOL_ERROR = 11,
    MAAS_VERSION_MISMATCH = 12,
    MAAS_INTERNAL = 13
} maas_status;

typedef struct maas_client_s* maas_client;  /* opaque */
typedef struct maas_server_s* maas_server;  /* opaque */

/* ---- library ---------------------------------------------------------------------------------- */

/* Library version, e.g. "0.1.0". Library-owned, static. */
const char* maas_version(void);

/* Message of the last failed call on this thread, "" if the last call succeeded.  Library-owned,
 * valid until the next maas_* call on this thread.  Never NULL. */
const char* maas_last_error(void);

/* Protocol name of a status code: "Ok" for 0, "InvalidArgument" for 1, ... "Internal" for 13,
 * "Unknown" for any other number.  Library-owned, static.  Bindings take their names from here. */
const char* maas_status_name(int status);

/* Frees a library-owned buffer returned through a char** out parameter.  NULL is ignored. */
void maas_free(void* buffer);

/* ---- client ----------------------------------------------------------------------------------- */

/* Connects to "pipe:///path/to.sock", "tcp://host:port" or "inproc://name" (same process), or
 * "maas://<uuid>[@version]": resolved through the registry or maas_reference file named by the
 * MAAS_REGISTRY environment variable (read as the library started), checked against the version's
 * checksum before any call (MAAS_VERSION_MISMATCH when it differs; MAAS_NOT_FOUND for an unknown uuid;
 * MAAS_UNAVAILABLE when the registry or every endpoint is down), failing over between endpoints.
 * options_json may be NULL or an object with any of:
 *   {"timeout_ms": per-call deadline, "connect_timeout_ms": n, "max_frame_bytes": n,
 *    "reconnect": true, "retry": true, "credentials": "...", "agent": "...",
 *    "tls": {"trustedCa": "ca.pem", "certificate": "client.pem", "key": "client.key", "serverName": "..."}}
 * "credentials" is an API key (maas key new) for servers that authenticate their callers; "tls"
 * configures tls:// and https:// (a CA to trust instead of the system's, a certificate for mutual TLS).
 * A server that refuses the credentials answers MAAS_UNAUTHENTICATED.
 * On success *client is a new handle; release it with maas_client_close. */
int maas_client_connect(const char* uri, const char* options_json, maas_client* client);

/* Closes the connection and invalidates the handle (calls still running on other threads end with
 * MAAS_UNAVAILABLE).  Closing twice gives MAAS_INVALID_ARGUMENT. */
int maas_client_close(maas_client client);

/* *json = JSON array of model infos (see maas_client_model_info).  Library-owned: maas_free. */
int maas_client_list_models(maas_client client, char** json);

/* *json = {"uuid","name","version","description","authors":[],"doi","capabilities":["log_density",
 * "sample","gradient","gradient_theta","evaluate","vjp","jvp","data","parameters"],"input_dim",
 * "output_dim","parameter_count","dtype","parameters":[{"name","shape","default","lower","upper",
 * "description"}]}.  Library-owned: maas_free.  `model` is a name or uuid. */
int maas_client_model_info(maas_client client, const char* model, char** json);

/* log p(x_i | theta) for n points of dimension d.  theta (theta_len values, all parameters in info
 * order) may be NULL/0 = the server's current parameters.  out: capacity >= n; *out_len = n.
 * out_len may be NULL. */
int maas_log_density(maas_client client, const char* model, const double* x, int64_t n, int64_t d,
                     const double* theta, int64_t theta_len,
                     double* out, int64_t out_capacity, int64_t* out_len);

/* y_i = F(theta; x_i): out holds n * output_dim values (row-major). */
int maas_evaluate(maas_client client, const char* model, const double* x, int64_t n, int64_t d,
                  const double* theta, int64_t theta_len,
                  double* out, int64_t out_capacity, int64_t* out_len);

/* Derivatives.  kind and result shape:
 *   MAAS_GRADIENT_X      d log p / dx            out n*d        (vector NULL)
 *   MAAS_GRADIENT_THETA  d log p / dtheta        out n*p        (vector NULL)
 *   MAAS_GRADIENT_VJP    v_i^T dF/dx             out n*d        (vector n*output_dim)
 *   MAAS_GRADIENT_JVP    dF/dx v_i               out n*output_dim (vector n*d) */
enum { MAAS_GRADIENT_X = 1, MAAS_GRADIENT_THETA = 2, MAAS_GRADIENT_VJP = 3, MAAS_GRADIENT_JVP = 4 };
int maas_gradient(maas_client client, const char* model, int kind,
                  const double* x, int64_t n, int64_t d,
                  const double* vector, int64_t vector_len,
                  const double* theta, int64_t theta_len,
                  double* out, int64_t out_capacity, int64_t* out_len);

/* n draws (n * input_dim values) into a caller buffer.  Seeded: the same seed, n and model give
 * the same draws (the server splits the call into chunks of its default size; see the server's
 * sampler contract below). */
int maas_sample(maas_client client, const char* model, uint64_t seed, int64_t n,
                const double* theta, int64_t theta_len,
                double* out, int64_t out_capacity, int64_t* out_len);

/* Called once per streamed chunk: rows is n_rows * n_cols values, library-owned and valid only
 * during the call.  Return 0 to continue; non-zero stops the stream and the calling function
 * returns MAAS_CANCELLED. Runs on the thread that called maas_sample_chunks/maas_read_data_chunks. */
typedef int (*maas_chunk_fn)(const double* rows, int64_t n_rows, int64_t n_cols, void* user_data);

/* Streaming sample: chunk_rows 0 = the server's default chunk size.  Reproducible for the same
 * (seed, n, chunk_rows). */
int maas_sample_chunks(maas_client client, const char* model, uint64_t seed, int64_t n, int64_t chunk_rows,
                       const double* theta, int64_t theta_len, maas_chunk_fn on_chunk, void* user_data);

/* Rows [offset, offset+count) of a dataset (count -1 = to the end).  *rows and *cols are set even
 * when the buffer is too small (then MAAS_INVALID_ARGUMENT); rows/cols may be NULL. */
int maas_read_data(maas_client client, const char* model, const char* dataset, int64_t offset, int64_t count,
                   double* out, int64_t out_capacity, int64_t* rows, int64_t* cols);

int maas_read_data_chunks(maas_client client, const char* model, const char* dataset, int64_t offset,
                          int64_t count, int64_t chunk_rows, maas_chunk_fn on_chunk, void* user_data);

/* *json = {"version": v, "values": {"name": [..], ...}}.  Library-owned: maas_free. */
int maas_get_parameters(maas_client client, const char* model, char** json);

/* One parameter's values into a caller buffer (*out_len = its size). */
int maas_get_parameter(maas_client client, const char* model, const char* name,
                       double* out, int64_t out_capacity, int64_t* out_len);

/* values_json: {"mu": [1, 2], "sigma": 0.5} or {"values": {...}, "update_id": "..."} (an update id
 * makes a retried update apply once).  *json (may be NULL) = the new parameters, as
 * maas_get_parameters.  Unknown names and out-of-bound values: MAAS_INVALID_ARGUMENT. */
int maas_update_parameters(maas_client client, const char* model, const char* values_json, char** json);

/* Sets one parameter to `len` values. */
int maas_update_parameter(maas_client client, const char* model, const char* name,
                          const double* values, int64_t len);

/* ---- model description without JSON ----------------------------------------------------------
 * The numbers and names a caller needs for its calls, so that no binding has to parse the info
 * JSON.  They read the info the client looked up the first time a call named the model (that first
 * call makes one round trip; later ones make none).  `model` is a name or uuid, as everywhere.
 * Out pointers must not be NULL (MAAS_INVALID_ARGUMENT); when a call fails, a numeric out is set to
 * 0 and a char** out to NULL.  Strings returned through char** are library-owned: maas_free. */

/* Capability bits of maas_model_capabilities: the protocol's capability set (docs/protocol.md,
 * "Model info map"), bit for bit.  Bits a newer server sets that are not listed here may appear;
 * test only the bits you need. */
enum {
    MAAS_CAP_EVALUATE = 1,          /* maas_evaluate */
    MAAS_CAP_LOG_DENSITY = 2,       /* maas_log_density */
    MAAS_CAP_SAMPLE = 4,            /* maas_sample, maas_sample_chunks */
    MAAS_CAP_GRADIENT_X = 8,        /* maas_gradient MAAS_GRADIENT_X */
    MAAS_CAP_GRADIENT_THETA = 16,   /* maas_gradient MAAS_GRADIENT_THETA */
    MAAS_CAP_EVALUATE_VJP = 32,     /* maas_gradient MAAS_GRADIENT_VJP */
    MAAS_CAP_EVALUATE_JVP = 64,     /* maas_gradient MAAS_GRADIENT_JVP */
    MAAS_CAP_DATA = 128,            /* maas_read_data, maas_read_data_chunks */
    MAAS_CAP_PARAMETERS = 256       /* maas_get_parameters, maas_update_parameters, ... */
};

/* d: the columns of x for log_density/evaluate/gradient and of sample's draws. */
int maas_model_input_dim(maas_client client, const char* model, int64_t* input_dim);

/* The columns of evaluate's result (0 for a model without evaluate). */
int maas_model_output_dim(maas_client client, const char* model, int64_t* output_dim);

/* p: the number of values theta holds, i.e. the sum of the parameters' sizes (not the number of
 * parameters; that is *count of maas_model_parameter_sizes). */
int maas_model_parameter_count(maas_client client, const char* model, int64_t* count);

/* The MAAS_CAP_* bits the model has, e.g. (caps & MAAS_CAP_SAMPLE) before maas_sample. */
int maas_model_capabilities(maas_client client, const char* model, uint32_t* capabilities);

/* The model's name (also when it was looked up by uuid), its uuid ("8-4-4-4-12", lowercase) and
 * its version.  Library-owned: maas_free. */
int maas_model_name(maas_client client, const char* model, char** name);
int maas_model_uuid(maas_client client, const char* model, char** uuid);
int maas_model_version(maas_client client, const char* model, char** version);

/* The parameters in theta's order: sizes[i] = the number of values of parameter i (caller-owned,
 * capacity values); *count = the number of parameters (count may be NULL).  *count is set even
 * when sizes is too small (then MAAS_INVALID_ARGUMENT), so call once with NULL/0 to learn it.
 * Parameter i occupies theta[offset_i .. offset_i + sizes[i] - 1], offset_i = sizes[0] + ... +
 * sizes[i-1]. */
int maas_model_parameter_sizes(maas_client client, const char* model, int64_t* sizes, int64_t capacity,
                               int64_t* count);

/* The name of parameter `index` (0-based, theta's order); an index outside [0, count) is
 * MAAS_INVALID_ARGUMENT.  Library-owned: maas_free. */
int maas_model_parameter_name(maas_client client, const char* model, int64_t index, char** name);

/* ---- server ----------------------------------------------------------------------------------- */

/* A callback reports failure by calling maas_callback_error(message) (thread-local, copied) and
 * returning non-zero; the remote caller then gets MAAS_MODEL_ERROR with "<model>.<operation>:
 * <message>".  Callbacks must not throw (C++: catch everything; demos_maas.hpp does this for you)
 * and must not longjmp across the library. */
void maas_callback_error(const char* message);

/* Batch callback for log_density (out n), gradient (out n*d), gradient_theta (out n*p) and
 * evaluate (out n*output_dim).  x: n*d values; theta: p values, the parameters for this call
 * (explicit theta of the request, or the model's current parameters).  All pointers are valid only
 * during the call; x/theta may be NULL when their length is 0.  Return 0 on success. */
typedef int (*maas_batch_fn)(const double* x, int64_t n, int64_t d, const double* theta, int64_t p,
                             double* out, void* user_data);

/* vjp (v: n*output_dim, out n*d) and jvp (v: n*d, out n*output_dim). */
typedef int (*maas_product_fn)(const double* x, int64_t n, int64_t d, const double* v, int64_t v_len,
                               const double* theta, int64_t p, double* out, void* user_data);

/* Sampler: fill out with n draws (n*d values) using `seed`.  A sample call of N draws with seed S is
 * served in chunks (default 65536/d rows, or the client's chunk_rows); chunk k (k = 0, 1, ...) gets
 * seed_k = the (k+1)-th 64-bit output of xoshiro256** seeded by SplitMix64 from S.  So the same
 * (S, N, chunk size) always yields the same draws, and a sampler that seeds its own RNG from
 * `seed` alone is reproducible. */
typedef int (*maas_sampler_fn)(uint64_t seed, int64_t n, int64_t d, const double* theta, int64_t p,
                               double* out, void* user_data);

/* The model's functions; NULL = capability absent.  user_data is passed to every callback. */
typedef struct maas_model_callbacks {
    void* user_data;
    maas_batch_fn log_density;
    maas_batch_fn gradient;        /* d log p / dx */
    maas_batch_fn gradient_theta;  /* d log p / dtheta */
    maas_batch_fn evaluate;
    maas_product_fn vjp;
    maas_product_fn jvp;
    maas_sampler_fn sampler;
} maas_model_callbacks;

enum { MAAS_MODEL_SERIAL = 1 };  /* at most one callback of this model at a time */

/* config_json (NULL = defaults):
 *   {"listen": ["pipe:///tmp/m.sock", "tcp://127.0.0.1:0"] (or one string),
 *    "workers": max concurrent callbacks per model (0 = unbounded),
 *    "max_frame_bytes": n, "max_in_flight": per connection, "drain_ms": graceful-stop timeout,
 *    "log_level": "none"|"error"|"warning"|"info"|"debug"  (log lines go to stderr),
 *    "security": {"keys": [...], "keyFiles": [...], "roles": {...}, "certificates": {...},
 *                 "rateLimit": {...}, "audit": {...}}  (docs/security.md: who may call, and what),
 *    "tls": {"certificate": "server.pem", "key": "server.key", "trustedCa": "ca.pem",
 *            "requireClientCertificate": true}  (for tls:// and https:// listeners),
 *    "insecure": false  (true: listen on a non-loopback address without "security")}
 * Release with maas_server_free. */
int maas_server_create(const char* config_json, maas_server* server);

/* The same, reading the JSON configuration from a file. */
int maas_server_create_from_file(const char* path, maas_server* server);

/* metadata_json: {"name": required, "input_dim": required, "output_dim": needed with evaluate,
 *   "uuid", "version", "description", "authors": [], "doi",
 *   "parameters": [{"name", "default": number (scalar) or [..], "lower", "upper", "description"}],
 *   "datasets": [{"name", "columns", "values": [row-major], "description"}],
 *   "read_only_parameters": false, "serial": false}
 * The callbacks struct is copied; user_data must stay valid until the server is freed.
 * flags: 0 or MAAS_MODEL_SERIAL.  May be called before or after start. */
int maas_server_register_model(maas_server server, const char* metadata_json,
                               const maas_model_callbacks* callbacks, uint32_t flags);

/* Hosts one of the library's built-in example models ("gaussian1d", "gaussian2d", "decay", or a physics
 * model: "neutrino-oscillation", "neutrino-fit", "cosmic-ray-propagation", "nuclear-force",
 * "three-pion-decay", "structure-factor"; docs/examples.md). */
int maas_server_register_example(maas_server server, const char* name);

/* Binds one more URI now; *bound_uri (may be NULL; library-owned) is the actual address, e.g. the
 * real port for tcp://127.0.0.1:0. */
int maas_server_listen(maas_server server, const char* uri, char** bound_uri);

/* Binds the configured URIs and returns at once; the server runs on library threads. */
int maas_server_start(maas_server server);

/* *json = JSON array of the bound URIs.  Library-owned: maas_free. */
int maas_server_endpoints(maas_server server, char** json);

/* The same list one address at a time: *count bound URIs, and URI `index` (0-based; outside
 * [0, count) is MAAS_INVALID_ARGUMENT).  *uri is library-owned: maas_free. */
int maas_server_endpoint_count(maas_server server, int64_t* count);
int maas_server_endpoint(maas_server server, int64_t index, char** uri);

/* Starts (if needed) and blocks until maas_server_stop is called from another thread. */
int maas_server_serve(maas_server server);

/* Graceful stop: refuses new calls, waits for running ones (up to drain_ms), closes listeners and
 * connections, wakes maas_server_serve.  Stopping twice is fine. */
int maas_server_stop(maas_server server);

/* Stops if needed and invalidates the handle. */
int maas_server_free(maas_server server);

/* ---- Models as plugins ---------------------------------------------------------------------
 * A model compiled to a shared library can be served with no main and no server code:
 *     maas serve --native ./libmodel.so --listen tcp://127.0.0.1:5000
 * The library exports these entry points (and needs nothing from libdemos_maas.so, so it does not
 * link it: `maas` loads the plugin into its own process). deploy/native-model/model.c is a template.
 *   maas_plugin_metadata   the model's metadata, the JSON accepted by maas_server_register_model
 *                         (library-owned, static).
 *   maas_plugin_callbacks fills *callbacks (zero the struct first: NULL = capability absent);
 *                         returns 0, or non-zero to refuse to load.
 *   maas_plugin_error      optional: the message of the calling thread's last failed callback (a
 *                         plugin cannot call maas_callback_error, which lives in libdemos_maas.so).
 * Callbacks follow the rules above: several threads at once unless "serial": true in the metadata;
 * samplers get the per-chunk seeds described at maas_sampler_fn. */
const char* maas_plugin_metadata(void);
int maas_plugin_callbacks(maas_model_callbacks* callbacks);
const char* maas_plugin_error(void);

#ifdef __cplusplus
}
#endif

#endif /* DEMOS_MAAS_H */
