// Template: a model served from C++.  Replace the functions with your model; build with CMake;
// run ./my_model [listen-uri ...] (default tcp://127.0.0.1:5000).
#include "demos_maas.hpp"

#include <cmath>
#include <iostream>

// log p(x | mu, sigma) for one 2-D point; params = (mu, sigma).
double my_density(const double* x, const double* params) {
    if (params[1] <= 0) throw std::domain_error("sigma must be positive");  // becomes ModelError at the caller
    double z0 = (x[0] - params[0]) / params[1], z1 = (x[1] - params[0]) / params[1];
    return -0.5 * (z0 * z0 + z1 * z1) - 2 * std::log(params[1]) - std::log(2 * M_PI);
}

void my_sampler(double* x, const double* params) {
    x[0] = params[0] + params[1] * demos::maas::normal();
    x[1] = params[0] + params[1] * demos::maas::normal();
}

int main(int argc, char** argv) {
    try {
        demos::maas::Server server("{\"log_level\": \"warning\"}");
        server.model("my_model", 2, {{"mu", {0.0}}, {"sigma", {1.0}, {1e-12}}});
        server.register_density(my_density);
        server.register_sampler(my_sampler);
        for (int i = 1; i < (argc > 1 ? argc : 2); i++)
            std::cout << "listening " << server.listen(argc > 1 ? argv[i] : "tcp://127.0.0.1:5000") << std::endl;
        server.serve();
    } catch (const demos::maas::Error& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
