/* Template: a model served from C.  Replace my_log_density (and add gradient/sampler callbacks)
 * with your model; build with CMake; run ./my_model [listen-uri ...]. */
#include "demos_maas.h"

#include <math.h>
#include <stdio.h>

/* log p(x_i | theta) for n points of dimension d; theta = (mu, sigma). */
static int my_log_density(const double* x, int64_t n, int64_t d, const double* theta, int64_t p, double* out, void* user_data) {
    (void)p; (void)user_data;
    if (theta[1] <= 0) { maas_callback_error("sigma must be positive"); return 1; }
    for (int64_t i = 0; i < n; i++) {
        double sum = 0;
        for (int64_t j = 0; j < d; j++) { double z = (x[i * d + j] - theta[0]) / theta[1]; sum += -0.5 * z * z; }
        out[i] = sum - d * (log(theta[1]) + 0.5 * log(2 * M_PI));
    }
    return 0;
}

static int fail(const char* what) { fprintf(stderr, "%s: %s\n", what, maas_last_error()); return 1; }

int main(int argc, char** argv) {
    maas_server server;
    if (maas_server_create("{\"log_level\": \"warning\"}", &server)) return fail("create");
    maas_model_callbacks callbacks = {0};
    callbacks.log_density = my_log_density;
    const char* metadata = "{\"name\": \"my_model\", \"input_dim\": 2, \"version\": \"1.0.0\", "
                           "\"parameters\": [{\"name\": \"mu\", \"default\": 0}, {\"name\": \"sigma\", \"default\": 1, \"lower\": 1e-12}]}";
    if (maas_server_register_model(server, metadata, &callbacks, 0)) return fail("register");
    for (int i = 1; i < (argc > 1 ? argc : 2); i++) {
        char* bound = NULL;
        if (maas_server_listen(server, argc > 1 ? argv[i] : "tcp://127.0.0.1:5000", &bound)) return fail("listen");
        printf("listening %s\n", bound);
        fflush(stdout);
        maas_free(bound);
    }
    return maas_server_serve(server) ? fail("serve") : 0;
}
