// The C++-served model of the cross-language matrix ("cppbanana": a Rosenbrock-style banana density).
//   matrix_server serve <uri>...        serve until killed; prints "listening <uri>" per endpoint
//   matrix_server reference <points>    the model evaluated natively, one log-density per line
#include "demos_maas.hpp"
#include "matrix_common.hpp"

#include <cmath>
#include <cstring>
#include <iostream>
#include <stdexcept>

// log p(x | a, b) = -((a - x0)^2 + b (x1 - x0^2)^2) / 20
static double banana(const double* x, const double* params) {
    double a = params[0], b = params[1];
    double u = a - x[0], v = x[1] - x[0] * x[0];
    return -(u * u + b * v * v) / 20.0;
}

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "reference") == 0) {
        size_t n, d;
        auto x = read_points(argv[2], n, d);
        const double params[2] = {1.0, 5.0};
        std::vector<double> out(n);
        for (size_t i = 0; i < n; i++) out[i] = banana(&x[i * d], params);
        print_values(out);
        return 0;
    }
    if (argc < 3 || std::strcmp(argv[1], "serve") != 0) {
        std::cerr << "usage: matrix_server serve <uri>... | reference <points>\n";
        return 2;
    }
    try {
        demos::maas::Server server("{\"log_level\": \"warning\"}");
        server.model("cppbanana", 2, {{"a", {1.0}}, {"b", {5.0}}});
        server.register_density(banana);
        // For the cross-process error checks: a C++ exception in a model function.
        server.model("cppthrows", 1);
        server.register_density([](const double* x, const double*) -> double {
            if (x[0] < 0) throw std::runtime_error("C++ model rejects negative x");
            return x[0];
        });
        for (int i = 2; i < argc; i++) std::cout << "listening " << server.listen(argv[i]) << std::endl;
        server.serve();
    } catch (const demos::maas::Error& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
