/* End-to-end test of the C ABI: a C-served model and a C client in one process, over tcp and pipe,
 * and every bad-input path (NULL/forged/closed handles, wrong sizes, callback errors). */
#include "demos_maas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed = 0, failed = 0;
#define CHECK(cond, ...) do { if (cond) { passed++; } else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf(" [last error: %s]\n", maas_last_error()); } } while (0)

/* The model: d-dimensional standard-ish normal with parameters mu (d) and sigma (scalar). */
static double native_log_density(const double* x, int64_t d, const double* theta) {
    double sum = 0, sigma = theta[d];
    for (int64_t j = 0; j < d; j++) { double z = (x[j] - theta[j]) / sigma; sum += -0.5 * z * z - log(sigma) - 0.5 * log(2 * M_PI); }
    return sum;
}

/* Callbacks that got an x not on an 8-byte boundary (a vectorising compiler may assume it is). */
static int misaligned_x = 0;

static int log_density(const double* x, int64_t n, int64_t d, const double* theta, int64_t p, double* out, void* user) {
    int* calls = (int*)user;
    __atomic_add_fetch(calls, 1, __ATOMIC_SEQ_CST);
    if (((uintptr_t)x & 7) != 0) __atomic_add_fetch(&misaligned_x, 1, __ATOMIC_SEQ_CST);
    if (p != d + 1) { maas_callback_error("wrong parameter count"); return 2; }
    for (int64_t i = 0; i < n; i++) {
        if (x[i * d] > 1e300) { maas_callback_error("x is too large for this model"); return 7; }
        out[i] = native_log_density(x + i * d, d, theta);
    }
    return 0;
}

static int gradient(const double* x, int64_t n, int64_t d, const double* theta, int64_t p, double* out, void* user) {
    (void)p; (void)user;
    for (int64_t i = 0; i < n * d; i++) { int64_t j = i % d; out[i] = -(x[i] - theta[j]) / (theta[d] * theta[d]); }
    return 0;
}

static uint64_t splitmix(uint64_t* s) { uint64_t z = (*s += 0x9e3779b97f4a7c15ULL); z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL; z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL; return z ^ (z >> 31); }

static int sampler(uint64_t seed, int64_t n, int64_t d, const double* theta, int64_t p, double* out, void* user) {
    (void)p; (void)user;
    uint64_t s = seed;
    for (int64_t i = 0; i < n * d; i++) out[i] = theta[i % d] + theta[d] * ((double)(splitmix(&s) >> 11) / 9007199254740992.0 - 0.5);
    return 0;
}

static int count_rows(const double* rows, int64_t n_rows, int64_t n_cols, void* user) {
    (void)rows; (void)n_cols; *(int64_t*)user += n_rows; return 0;
}
static int stop_at_first(const double* rows, int64_t n_rows, int64_t n_cols, void* user) {
    (void)rows; (void)n_rows; (void)n_cols; (void)user; return 5;
}

/* The accessors that spare callers the info JSON: values, failures and their out-parameter resets. */
static void model_description_suite(maas_client c) {
    int64_t value = -1;
    CHECK(maas_model_input_dim(c, "cnormal", &value) == MAAS_OK && value == 2, "input_dim %lld", (long long)value);
    CHECK(maas_model_output_dim(c, "cnormal", &value) == MAAS_OK && value == 0, "output_dim %lld", (long long)value);
    CHECK(maas_model_parameter_count(c, "cnormal", &value) == MAAS_OK && value == 3, "parameter_count %lld", (long long)value);
    uint32_t caps = 0;
    CHECK(maas_model_capabilities(c, "cnormal", &caps) == MAAS_OK
          && caps == (MAAS_CAP_LOG_DENSITY | MAAS_CAP_GRADIENT_X | MAAS_CAP_SAMPLE | MAAS_CAP_PARAMETERS), "capabilities 0x%x", caps);
    CHECK(maas_model_capabilities(c, "gaussian2d", &caps) == MAAS_OK && (caps & MAAS_CAP_DATA) && !(caps & MAAS_CAP_EVALUATE), "example capabilities 0x%x", caps);

    char* text = NULL;
    CHECK(maas_model_name(c, "cnormal", &text) == MAAS_OK && strcmp(text, "cnormal") == 0, "name");
    maas_free(text); text = NULL;
    CHECK(maas_model_version(c, "cnormal", &text) == MAAS_OK && strcmp(text, "1.2.3") == 0, "version");
    maas_free(text); text = NULL;
    char uuid[64] = "";
    CHECK(maas_model_uuid(c, "gaussian2d", &text) == MAAS_OK && strlen(text) == 36 && text[8] == '-', "uuid %s", text ? text : "");
    if (text) snprintf(uuid, sizeof uuid, "%s", text);
    maas_free(text); text = NULL;
    CHECK(maas_model_name(c, uuid, &text) == MAAS_OK && strcmp(text, "gaussian2d") == 0, "name of a model looked up by uuid");
    maas_free(text); text = NULL;

    int64_t sizes[2] = {0, 0}, count = -1;
    CHECK(maas_model_parameter_sizes(c, "cnormal", sizes, 2, &count) == MAAS_OK && count == 2 && sizes[0] == 2 && sizes[1] == 1, "parameter sizes");
    CHECK(maas_model_parameter_sizes(c, "cnormal", NULL, 0, &count) == MAAS_INVALID_ARGUMENT && count == 2, "parameter sizes: NULL buffer reports the count");
    count = -1;
    CHECK(maas_model_parameter_sizes(c, "cnormal", sizes, 1, &count) == MAAS_INVALID_ARGUMENT && count == 2 && strstr(maas_last_error(), "holds 1"), "parameter sizes: buffer too small");
    CHECK(maas_model_parameter_sizes(c, "cnormal", sizes, 2, NULL) == MAAS_OK, "parameter sizes: count may be NULL");
    CHECK(maas_model_parameter_name(c, "cnormal", 0, &text) == MAAS_OK && strcmp(text, "mu") == 0, "parameter name 0");
    maas_free(text); text = NULL;
    CHECK(maas_model_parameter_name(c, "cnormal", 1, &text) == MAAS_OK && strcmp(text, "sigma") == 0, "parameter name 1");
    maas_free(text);
    text = (char*)0x1;
    CHECK(maas_model_parameter_name(c, "cnormal", 2, &text) == MAAS_INVALID_ARGUMENT && text == NULL && strstr(maas_last_error(), "out of range"), "parameter index out of range");
    text = (char*)0x1;
    CHECK(maas_model_parameter_name(c, "cnormal", -1, &text) == MAAS_INVALID_ARGUMENT && text == NULL, "negative parameter index");

    /* NULL out pointers, unknown and NULL models */
    CHECK(maas_model_input_dim(c, "cnormal", NULL) == MAAS_INVALID_ARGUMENT && strstr(maas_last_error(), "NULL"), "input_dim: NULL out");
    CHECK(maas_model_output_dim(c, "cnormal", NULL) == MAAS_INVALID_ARGUMENT, "output_dim: NULL out");
    CHECK(maas_model_parameter_count(c, "cnormal", NULL) == MAAS_INVALID_ARGUMENT, "parameter_count: NULL out");
    CHECK(maas_model_capabilities(c, "cnormal", NULL) == MAAS_INVALID_ARGUMENT, "capabilities: NULL out");
    CHECK(maas_model_name(c, "cnormal", NULL) == MAAS_INVALID_ARGUMENT, "name: NULL out");
    CHECK(maas_model_uuid(c, "cnormal", NULL) == MAAS_INVALID_ARGUMENT, "uuid: NULL out");
    CHECK(maas_model_version(c, "cnormal", NULL) == MAAS_INVALID_ARGUMENT, "version: NULL out");
    CHECK(maas_model_parameter_name(c, "cnormal", 0, NULL) == MAAS_INVALID_ARGUMENT, "parameter_name: NULL out");
    value = 7;
    CHECK(maas_model_input_dim(c, "nosuchmodel", &value) == MAAS_NOT_FOUND && value == 0, "input_dim of an unknown model");
    CHECK(maas_model_input_dim(c, NULL, &value) == MAAS_INVALID_ARGUMENT, "input_dim: NULL model name");
    text = (char*)0x1;
    CHECK(maas_model_name(c, "nosuchmodel", &text) == MAAS_NOT_FOUND && text == NULL, "name of an unknown model");
    count = 7;
    CHECK(maas_model_parameter_sizes(c, "nosuchmodel", sizes, 2, &count) == MAAS_NOT_FOUND && count == 0, "parameter sizes of an unknown model");
}

/* Every accessor refuses NULL and forged handles without touching the process. */
static void bad_handle_suite(void) {
    maas_client forged = (maas_client)(intptr_t)0x12345670;
    int64_t value = 7; uint32_t caps = 7; char* text = (char*)0x1; int64_t sizes[1];
    CHECK(maas_model_input_dim(NULL, "m", &value) == MAAS_INVALID_ARGUMENT && value == 0 && strstr(maas_last_error(), "NULL"), "input_dim: NULL handle");
    CHECK(maas_model_input_dim(forged, "m", &value) == MAAS_INVALID_ARGUMENT && strstr(maas_last_error(), "unknown"), "input_dim: forged handle");
    CHECK(maas_model_output_dim(forged, "m", &value) == MAAS_INVALID_ARGUMENT, "output_dim: forged handle");
    CHECK(maas_model_parameter_count(NULL, "m", &value) == MAAS_INVALID_ARGUMENT, "parameter_count: NULL handle");
    CHECK(maas_model_capabilities(forged, "m", &caps) == MAAS_INVALID_ARGUMENT && caps == 0, "capabilities: forged handle");
    CHECK(maas_model_name(NULL, "m", &text) == MAAS_INVALID_ARGUMENT && text == NULL, "name: NULL handle");
    CHECK(maas_model_uuid(forged, "m", &text) == MAAS_INVALID_ARGUMENT, "uuid: forged handle");
    CHECK(maas_model_version(forged, "m", &text) == MAAS_INVALID_ARGUMENT, "version: forged handle");
    CHECK(maas_model_parameter_sizes(forged, "m", sizes, 1, &value) == MAAS_INVALID_ARGUMENT, "parameter_sizes: forged handle");
    CHECK(maas_model_parameter_name(NULL, "m", 0, &text) == MAAS_INVALID_ARGUMENT, "parameter_name: NULL handle");
    CHECK(maas_server_endpoint_count((maas_server)(intptr_t)0x777, &value) == MAAS_INVALID_ARGUMENT, "endpoint_count: forged handle");
    CHECK(maas_server_endpoint(NULL, 0, &text) == MAAS_INVALID_ARGUMENT && text == NULL, "endpoint: NULL handle");
}

static void client_suite(const char* uri, const int* calls) {
    maas_client c = NULL;
    CHECK(maas_client_connect(uri, "{\"timeout_ms\": 30000}", &c) == MAAS_OK, "connect %s", uri);
    if (!c) return;

    char* json = NULL;
    CHECK(maas_client_list_models(c, &json) == MAAS_OK && strstr(json, "\"cnormal\"") != NULL, "list_models");
    maas_free(json); json = NULL;
    CHECK(maas_client_model_info(c, "cnormal", &json) == MAAS_OK && strstr(json, "\"input_dim\":2") != NULL, "model_info %s", json ? json : "");
    maas_free(json); json = NULL;

    model_description_suite(c);

    double x[6] = {0.1, -0.2, 1.5, 2.5, -3.0, 0.0}, out[3], theta[3] = {0, 0, 1};
    int64_t len = 0;
    CHECK(maas_log_density(c, "cnormal", x, 3, 2, NULL, 0, out, 3, &len) == MAAS_OK && len == 3, "log_density");
    int exact = 1;
    for (int i = 0; i < 3; i++) if (fabs(out[i] - native_log_density(x + 2 * i, 2, theta)) > 1e-12 * fabs(out[i])) exact = 0;
    CHECK(exact, "log_density equals native");
    CHECK(*calls > 0, "callback ran");

    double theta2[3] = {1, 1, 2};
    CHECK(maas_log_density(c, "cnormal", x, 3, 2, theta2, 3, out, 3, &len) == MAAS_OK && fabs(out[0] - native_log_density(x, 2, theta2)) < 1e-12, "explicit theta");

    /* Large batches: the server reads them in place from what it received, at whatever byte they
       start (the shape's encoding differs below and above 65,536 rows); the callback still gets an
       aligned x and the right rows. */
    int64_t sizes[2] = {40000, 70000};
    for (int k = 0; k < 2; k++) {
        int64_t n = sizes[k];
        double* big = malloc((size_t)n * 2 * sizeof(double));
        double* big_out = malloc((size_t)n * sizeof(double));
        for (int64_t i = 0; i < n * 2; i++) big[i] = (double)(i % 1000) / 250.0 - 2.0;
        CHECK(maas_log_density(c, "cnormal", big, n, 2, NULL, 0, big_out, n, &len) == MAAS_OK && len == n, "log_density of %lld points", (long long)n);
        int big_exact = 1;
        for (int64_t i = 0; i < n; i += 997) if (fabs(big_out[i] - native_log_density(big + 2 * i, 2, theta)) > 1e-12 * fabs(big_out[i])) big_exact = 0;
        CHECK(big_exact, "log_density of %lld points equals native", (long long)n);
        free(big); free(big_out);
    }
    CHECK(misaligned_x == 0, "%d callbacks got an x off an 8-byte boundary", misaligned_x);

    /* wrong sizes */
    len = 0;
    CHECK(maas_log_density(c, "cnormal", x, 3, 2, NULL, 0, out, 2, &len) == MAAS_INVALID_ARGUMENT && len == 3 && strstr(maas_last_error(), "needed"), "too-small buffer reports needed size");
    CHECK(maas_log_density(c, "cnormal", x, 2, 3, NULL, 0, out, 3, &len) == MAAS_INVALID_ARGUMENT && strlen(maas_last_error()) > 0, "wrong dimension");
    CHECK(maas_log_density(c, "cnormal", NULL, 3, 2, NULL, 0, out, 3, &len) == MAAS_INVALID_ARGUMENT, "NULL x");
    CHECK(maas_log_density(c, "cnormal", x, 3, 2, theta, 2, out, 3, &len) == MAAS_INVALID_ARGUMENT, "wrong theta length");
    CHECK(maas_log_density(c, "cnormal", x, -1, 2, NULL, 0, out, 3, &len) == MAAS_INVALID_ARGUMENT, "negative n");
    CHECK(maas_log_density(c, "nosuchmodel", x, 3, 2, NULL, 0, out, 3, &len) == MAAS_NOT_FOUND, "unknown model");
    CHECK(maas_log_density(c, NULL, x, 3, 2, NULL, 0, out, 3, &len) == MAAS_INVALID_ARGUMENT, "NULL model name");
    CHECK(maas_evaluate(c, "cnormal", x, 3, 2, NULL, 0, out, 3, &len) == MAAS_UNSUPPORTED, "missing capability");

    /* callback error */
    double bad[2] = {1e308, 0};
    CHECK(maas_log_density(c, "cnormal", bad, 1, 2, NULL, 0, out, 1, &len) == MAAS_MODEL_ERROR && strstr(maas_last_error(), "x is too large for this model"), "callback error message: %s", maas_last_error());
    CHECK(maas_log_density(c, "cnormal", x, 1, 2, NULL, 0, out, 1, &len) == MAAS_OK, "still works after a callback error");

    double g[6];
    CHECK(maas_gradient(c, "cnormal", MAAS_GRADIENT_X, x, 3, 2, NULL, 0, NULL, 0, g, 6, &len) == MAAS_OK && len == 6 && fabs(g[0] + 0.1) < 1e-15, "gradient");
    CHECK(maas_gradient(c, "cnormal", 9, x, 3, 2, NULL, 0, NULL, 0, g, 6, &len) == MAAS_INVALID_ARGUMENT, "bad gradient kind");

    /* sampling: reproducible, streamed */
    double s1[2000], s2[2000];
    CHECK(maas_sample(c, "cnormal", 42, 1000, NULL, 0, s1, 2000, &len) == MAAS_OK && len == 2000, "sample");
    CHECK(maas_sample(c, "cnormal", 42, 1000, NULL, 0, s2, 2000, &len) == MAAS_OK && memcmp(s1, s2, sizeof s1) == 0, "sample reproducible");
    CHECK(maas_sample(c, "cnormal", 43, 1000, NULL, 0, s2, 2000, &len) == MAAS_OK && memcmp(s1, s2, sizeof s1) != 0, "other seed differs");
    CHECK(maas_sample(c, "cnormal", 42, 1000, NULL, 0, s2, 1999, &len) == MAAS_INVALID_ARGUMENT && len == 2000, "sample buffer too small");
    int64_t rows = 0;
    CHECK(maas_sample_chunks(c, "cnormal", 7, 1000, 64, NULL, 0, count_rows, &rows) == MAAS_OK && rows == 1000, "sample chunks: %lld rows", (long long)rows);
    CHECK(maas_sample_chunks(c, "cnormal", 7, 1000, 64, NULL, 0, stop_at_first, NULL) == MAAS_CANCELLED, "chunk callback stops the stream");
    CHECK(maas_sample_chunks(c, "cnormal", 7, 1000, 64, NULL, 0, NULL, NULL) == MAAS_INVALID_ARGUMENT, "NULL chunk callback");

    /* parameters */
    CHECK(maas_update_parameters(c, "cnormal", "{\"mu\": [0.5, -0.5]}", &json) == MAAS_OK && strstr(json, "0.5") != NULL, "update_parameters");
    maas_free(json); json = NULL;
    double mu[2]; len = 0;
    CHECK(maas_get_parameter(c, "cnormal", "mu", mu, 2, &len) == MAAS_OK && len == 2 && mu[0] == 0.5 && mu[1] == -0.5, "get_parameter");
    CHECK(maas_update_parameter(c, "cnormal", "mu", (double[]){0, 0}, 2) == MAAS_OK, "update_parameter");
    CHECK(maas_update_parameters(c, "cnormal", "{\"nope\": 1}", NULL) == MAAS_INVALID_ARGUMENT, "unknown parameter");
    CHECK(maas_update_parameters(c, "cnormal", "{not json", NULL) == MAAS_INVALID_ARGUMENT, "bad JSON");
    json = (char*)0x1;
    CHECK(maas_update_parameters(c, "cnormal", "{not json", &json) == MAAS_INVALID_ARGUMENT && json == NULL, "failed call sets the out string to NULL");
    json = (char*)0x1;
    CHECK(maas_client_model_info(NULL, "cnormal", &json) == MAAS_INVALID_ARGUMENT && json == NULL, "bad handle sets the out string to NULL");
    CHECK(maas_update_parameters(c, "cnormal", "{\"sigma\": -1}", NULL) == MAAS_INVALID_ARGUMENT, "out-of-bounds parameter: %s", maas_last_error());
    CHECK(maas_get_parameters(c, "cnormal", &json) == MAAS_OK && strstr(json, "\"version\"") != NULL, "get_parameters");
    maas_free(json); json = NULL;

    /* data from the built-in example */
    double data[2000]; int64_t cols = 0;
    CHECK(maas_read_data(c, "gaussian2d", "draws", 10, 100, data, 2000, &rows, &cols) == MAAS_OK && rows == 100 && cols == 2, "read_data");
    CHECK(maas_read_data(c, "gaussian2d", "draws", 0, -1, data, 10, &rows, &cols) == MAAS_INVALID_ARGUMENT && rows == 1000, "read_data buffer too small");
    CHECK(maas_read_data(c, "gaussian2d", "nope", 0, -1, data, 2000, &rows, &cols) == MAAS_NOT_FOUND, "unknown dataset");
    rows = 0;
    CHECK(maas_read_data_chunks(c, "gaussian2d", "draws", 0, -1, 100, count_rows, &rows) == MAAS_OK && rows == 1000, "read_data_chunks");

    CHECK(maas_client_close(c) == MAAS_OK, "close");
    CHECK(maas_log_density(c, "cnormal", x, 3, 2, NULL, 0, out, 3, &len) == MAAS_INVALID_ARGUMENT && strstr(maas_last_error(), "closed"), "use after close");
    CHECK(maas_client_close(c) == MAAS_INVALID_ARGUMENT, "close twice");
}

int main(void) {
    CHECK(strlen(maas_version()) > 0, "version");
    CHECK(strcmp(maas_status_name(MAAS_MODEL_ERROR), "ModelError") == 0, "status name");
    CHECK(strcmp(maas_status_name(MAAS_OK), "Ok") == 0 && strcmp(maas_status_name(99), "Unknown") == 0
          && strcmp(maas_status_name(-1), "Unknown") == 0, "status names of 0 and of unknown codes");
    bad_handle_suite();
    double x[2] = {0, 0}, out[1]; int64_t len;
    CHECK(maas_log_density(NULL, "m", x, 1, 2, NULL, 0, out, 1, &len) == MAAS_INVALID_ARGUMENT && strstr(maas_last_error(), "NULL"), "NULL client handle");
    CHECK(strlen(maas_last_error()) > 0, "last error set");
    CHECK(maas_client_close((maas_client)(intptr_t)0x12345678) == MAAS_INVALID_ARGUMENT, "forged client handle");
    CHECK(maas_server_start((maas_server)(intptr_t)0x777) == MAAS_INVALID_ARGUMENT, "forged server handle");
    CHECK(maas_client_connect("pipe:///tmp/demos-maas-no-such.sock", "{\"connect_timeout_ms\": 2000}", NULL) == MAAS_INVALID_ARGUMENT, "NULL out pointer");
    maas_client none = NULL;
    CHECK(maas_client_connect("pipe:///tmp/demos-maas-no-such.sock", "{\"connect_timeout_ms\": 2000}", &none) == MAAS_UNAVAILABLE && none == NULL, "connect to nothing");
    CHECK(maas_client_connect("bogus://x", NULL, &none) == MAAS_INVALID_ARGUMENT, "unknown scheme: %s", maas_last_error());
    CHECK(maas_server_create("{\"listen\": 5}", (maas_server[]){0}) == MAAS_INVALID_ARGUMENT, "bad server config");
    CHECK(maas_server_create("{\"log_level\": \"loud\"}", (maas_server[]){0}) == MAAS_INVALID_ARGUMENT, "bad log level");

    /* configuration from a file */
    char config_path[128];
    snprintf(config_path, sizeof config_path, "/tmp/demos-maas-ctest-%d.json", (int)getpid());
    FILE* config = fopen(config_path, "w");
    fputs("{\"listen\": [\"tcp://127.0.0.1:0\"], \"workers\": 2, \"max_in_flight\": 64, \"log_level\": \"none\"}", config);
    fclose(config);
    maas_server from_file = NULL;
    CHECK(maas_server_create_from_file(config_path, &from_file) == MAAS_OK, "create_from_file");
    CHECK(maas_server_register_example(from_file, "gaussian1d") == MAAS_OK && maas_server_start(from_file) == MAAS_OK, "start from file config");
    char* bound_list = NULL;
    CHECK(maas_server_endpoints(from_file, &bound_list) == MAAS_OK && strstr(bound_list, "tcp://127.0.0.1:") && !strstr(bound_list, ":0/"), "file config listens");
    maas_free(bound_list);
    CHECK(maas_server_free(from_file) == MAAS_OK, "free file-configured server");
    remove(config_path);
    CHECK(maas_server_create_from_file("/tmp/demos-maas-no-such-config.json", &from_file) == MAAS_NOT_FOUND, "missing config file");

    int calls = 0;
    maas_server server = NULL;
    CHECK(maas_server_create("{\"workers\": 4, \"log_level\": \"error\"}", &server) == MAAS_OK, "server_create");
    maas_model_callbacks cb = {0};
    cb.user_data = &calls; cb.log_density = log_density; cb.gradient = gradient; cb.sampler = sampler;
    const char* meta = "{\"name\": \"cnormal\", \"input_dim\": 2, \"version\": \"1.2.3\", "
                       "\"parameters\": [{\"name\": \"mu\", \"default\": [0, 0]}, {\"name\": \"sigma\", \"default\": 1, \"lower\": 1e-9}]}";
    CHECK(maas_server_register_model(server, meta, &cb, 0) == MAAS_OK, "register_model");
    CHECK(maas_server_register_model(server, meta, &cb, 0) == MAAS_INVALID_ARGUMENT, "duplicate model");
    CHECK(maas_server_register_model(server, "{\"input_dim\": 2}", &cb, 0) == MAAS_INVALID_ARGUMENT, "metadata without name");
    CHECK(maas_server_register_model(server, meta, NULL, 0) == MAAS_INVALID_ARGUMENT, "NULL callbacks");
    CHECK(maas_server_register_example(server, "gaussian2d") == MAAS_OK, "register_example");
    CHECK(maas_server_register_example(server, "nope") == MAAS_NOT_FOUND, "unknown example");
    CHECK(maas_server_start(server) == MAAS_INVALID_ARGUMENT, "start without listen URI");

    char* tcp = NULL; char* pipe = NULL;
    char path[128]; snprintf(path, sizeof path, "pipe:///tmp/demos-maas-ctest-%d.sock", (int)getpid());
    CHECK(maas_server_listen(server, "tcp://127.0.0.1:0", &tcp) == MAAS_OK && strstr(tcp, "tcp://127.0.0.1:") && !strstr(tcp, ":0/"), "listen tcp %s", tcp ? tcp : "");
    CHECK(maas_server_listen(server, path, &pipe) == MAAS_OK, "listen pipe");
    char* endpoints = NULL;
    CHECK(maas_server_endpoints(server, &endpoints) == MAAS_OK && strstr(endpoints, "pipe://"), "endpoints");
    maas_free(endpoints);
    int64_t bound_count = 0;
    char* first = NULL;
    CHECK(maas_server_endpoint_count(server, &bound_count) == MAAS_OK && bound_count == 2, "endpoint_count %lld", (long long)bound_count);
    CHECK(maas_server_endpoint(server, 0, &first) == MAAS_OK && tcp && strcmp(first, tcp) == 0, "endpoint 0 is the tcp address");
    maas_free(first); first = NULL;
    CHECK(maas_server_endpoint(server, 1, &first) == MAAS_OK && strncmp(first, "pipe://", 7) == 0, "endpoint 1 is the pipe");
    maas_free(first); first = (char*)0x1;
    CHECK(maas_server_endpoint(server, 2, &first) == MAAS_INVALID_ARGUMENT && first == NULL, "endpoint index out of range");
    CHECK(maas_server_endpoint(server, 0, NULL) == MAAS_INVALID_ARGUMENT && maas_server_endpoint_count(server, NULL) == MAAS_INVALID_ARGUMENT, "endpoint: NULL out");

    if (tcp) client_suite(tcp, &calls);
    if (pipe) client_suite(pipe, &calls);
    maas_free(tcp); maas_free(pipe);

    CHECK(maas_server_stop(server) == MAAS_OK, "stop");
    CHECK(maas_server_stop(server) == MAAS_OK, "stop twice");
    CHECK(maas_server_free(server) == MAAS_OK, "free");
    CHECK(maas_server_free(server) == MAAS_INVALID_ARGUMENT, "free twice");

    printf("c: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
