// The C++ nuclear force served by a program of its own through libdemos_maas.so (the alternative to
// `maas serve --native`): links nuclear_force.cpp and registers its callbacks and metadata with the
// C ABI. A failing callback's message is forwarded with maas_callback_error.
//
// Build (libdemos_maas.so in $LIB):
//   g++ -O2 -std=c++17 -I bindings/c deploy/domain-models/nuclear_force.cpp \
//       deploy/domain-models/serve_nuclear_force.cpp -L $LIB -ldemos_maas -Wl,-rpath,$LIB -o serve_nuclear_force
// Run:  ./serve_nuclear_force tcp://127.0.0.1:5000 [more URIs]
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "demos_maas.h"

namespace {

maas_model_callbacks plugin;

// The plugin reports errors through maas_plugin_error; in this process the library's
// maas_callback_error carries them to the caller.
int forward(int status)
{
    if (status != 0) maas_callback_error(maas_plugin_error());
    return status;
}

int evaluate(const double* x, int64_t n, int64_t d, const double* t, int64_t p, double* out, void* u)
{
    return forward(plugin.evaluate(x, n, d, t, p, out, u));
}

int vjp(const double* x, int64_t n, int64_t d, const double* v, int64_t vl, const double* t, int64_t p, double* out, void* u)
{
    return forward(plugin.vjp(x, n, d, v, vl, t, p, out, u));
}

int jvp(const double* x, int64_t n, int64_t d, const double* v, int64_t vl, const double* t, int64_t p, double* out, void* u)
{
    return forward(plugin.jvp(x, n, d, v, vl, t, p, out, u));
}

int check(int status)
{
    if (status != MAAS_OK) {
        std::fprintf(stderr, "error %d: %s\n", status, maas_last_error());
        std::exit(1);
    }
    return status;
}

}  // namespace

int main(int argc, char** argv)
{
    maas_server server;
    check(maas_server_create("{\"log_level\": \"warning\"}", &server));
    if (maas_plugin_callbacks(&plugin) != 0) return 1;
    maas_model_callbacks callbacks{};
    callbacks.evaluate = evaluate;
    callbacks.vjp = vjp;
    callbacks.jvp = jvp;
    check(maas_server_register_model(server, maas_plugin_metadata(), &callbacks, 0));
    for (int i = 1; i < (argc > 1 ? argc : 2); i++) {
        char* bound = nullptr;
        check(maas_server_listen(server, argc > 1 ? argv[i] : "tcp://127.0.0.1:5000", &bound));
        std::printf("listening %s\n", bound);
        std::fflush(stdout);
    }
    return check(maas_server_serve(server));
}
