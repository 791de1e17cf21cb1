// The seed's example of a C++ model server, nearly as written: the one added line declares the
// model's name, dimension and parameters.  Listens on $DEMOS_MAAS_LISTEN (default pipe:///tmp/demos-maas.sock).
#include "demos_maas.hpp"

#include <cmath>

// User implements these functions
double my_model_density(const double* x, const double* params) {
    double z0 = (x[0] - params[0]) / params[1], z1 = (x[1] - params[0]) / params[1];
    return -0.5 * (z0 * z0 + z1 * z1) - 2 * std::log(params[1]) - std::log(2 * M_PI);
}
void my_model_sample(double* x, const double* params) {
    x[0] = params[0] + params[1] * demos::maas::normal();
    x[1] = params[0] + params[1] * demos::maas::normal();
}

int main() {
    DemosMaaSServer server;
    server.model("my_model", 2, {{"mu", {0.0}}, {"sigma", {1.0}, {1e-9}}});  // the added line
    server.register_density(my_model_density);
    server.register_sampler(my_model_sample);
    server.serve(); // Listen for requests
}
