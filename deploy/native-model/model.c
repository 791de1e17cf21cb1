/*
 * A model written in C and served by `maas serve --native libmodel.so`: no main, no server code.
 * Template: replace the metadata and the functions, keep the two exported entry points.
 *
 * The model: the exponential distribution, log p(x | rate) = log(rate) - rate * x for x >= 0.
 *
 * Build: cc -O2 -shared -fPIC -I bindings/c -o libmodel.so deploy/native-model/model.c -lm
 * Serve: maas serve --native ./libmodel.so --listen tcp://127.0.0.1:5000
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "demos_maas.h"

static const char metadata[] =
    "{\"name\": \"exponential\", \"version\": \"1.0.0\", \"input_dim\": 1,"
    " \"description\": \"Exponential distribution: log p(x | rate) = log(rate) - rate x, x >= 0.\","
    " \"parameters\": [{\"name\": \"rate\", \"default\": 1.5, \"lower\": 0, \"description\": \"events per unit time\"}]}";

/* Callbacks may run on several threads at once: the error message is per thread. */
static _Thread_local char last_error[256];

static int fail(const char* message, double value)
{
    snprintf(last_error, sizeof last_error, message, value);
    return 1;
}

static int log_density(const double* x, int64_t n, int64_t d, const double* theta, int64_t p, double* out, void* user_data)
{
    (void)d; (void)p; (void)user_data;
    double rate = theta[0];
    if (!(rate > 0)) return fail("rate must be positive, got %g", rate);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] < 0 ? -INFINITY : log(rate) - rate * x[i];
    return 0;
}

static int gradient(const double* x, int64_t n, int64_t d, const double* theta, int64_t p, double* out, void* user_data)
{
    (void)d; (void)p; (void)user_data;
    double rate = theta[0];
    if (!(rate > 0)) return fail("rate must be positive, got %g", rate);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] < 0 ? 0.0 : -rate;
    return 0;
}

/* SplitMix64: the model's own generator, seeded from the seed the server passes for this chunk. */
static uint64_t next(uint64_t* state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int sampler(uint64_t seed, int64_t n, int64_t d, const double* theta, int64_t p, double* out, void* user_data)
{
    (void)d; (void)p; (void)user_data;
    double rate = theta[0];
    if (!(rate > 0)) return fail("rate must be positive, got %g", rate);
    uint64_t state = seed;
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(next(&state) >> 11) * 0x1.0p-53;
        out[i] = -log1p(-u) / rate;
    }
    return 0;
}

const char* maas_plugin_metadata(void) { return metadata; }

const char* maas_plugin_error(void) { return last_error; }

int maas_plugin_callbacks(maas_model_callbacks* callbacks)
{
    memset(callbacks, 0, sizeof *callbacks);
    callbacks->log_density = log_density;
    callbacks->gradient = gradient;
    callbacks->sampler = sampler;
    return 0;
}
