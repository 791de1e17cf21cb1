// Points files of the cross-language matrix: "n d" then n*d numbers; results one per line, %.17g.
#pragma once
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

inline std::vector<double> read_points(const std::string& path, size_t& n, size_t& d) {
    std::ifstream in(path);
    if (!(in >> n >> d)) throw std::runtime_error("cannot read " + path);
    std::vector<double> x(n * d);
    for (auto& v : x) in >> v;
    return x;
}

inline void print_values(const std::vector<double>& values) {
    for (double v : values) std::printf("%.17g\n", v);
}
