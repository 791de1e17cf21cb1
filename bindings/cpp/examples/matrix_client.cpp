// The C++ client of the cross-language matrix: prints the remote log-densities of a points file.
//   matrix_client <uri> <model> <points>
#include "demos_maas.hpp"
#include "matrix_common.hpp"

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: matrix_client <uri> <model> <points>\n";
        return 2;
    }
    try {
        size_t n, d;
        auto x = read_points(argv[3], n, d);
        demos::maas::Client client(argv[1], "{\"timeout_ms\": 60000}");
        print_values(client.log_density(argv[2], x, d));
        return 0;
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
