// C++ client benchmark: bench_client <uri> <model> <dim> <seconds>
// 1-point log-density latency (p50, p99) and batch-65,536 throughput, one line like the C# and Python clients.
#include "demos_maas.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

int main(int argc, char** argv) {
    if (argc != 5) { std::fprintf(stderr, "usage: bench_client <uri> <model> <dim> <seconds>\n"); return 2; }
    using clock = std::chrono::steady_clock;
    std::string model = argv[2];
    size_t dim = std::stoul(argv[3]);
    double seconds = std::stod(argv[4]);
    demos::maas::Client client(argv[1], "{\"timeout_ms\": 60000}");
    std::vector<double> one(dim, 0.0), logp(1);
    std::vector<double> latencies;
    auto end = clock::now() + std::chrono::duration<double>(seconds);
    while (clock::now() < end || latencies.size() < 200) {
        auto start = clock::now();
        int64_t len;
        demos::maas::detail::check(maas_log_density(client.handle(), model.c_str(), one.data(), 1, (int64_t)dim, nullptr, 0, logp.data(), 1, &len));
        latencies.push_back(std::chrono::duration<double, std::micro>(clock::now() - start).count());
    }
    std::sort(latencies.begin(), latencies.end());
    std::vector<double> batch(65536 * dim), out(65536);
    std::mt19937_64 rng(1);
    for (auto& v : batch) v = std::uniform_real_distribution<double>(0, 1)(rng);
    int calls = 0;
    auto start = clock::now();
    while (std::chrono::duration<double>(clock::now() - start).count() < seconds || calls < 5) {
        int64_t len;
        demos::maas::detail::check(maas_log_density(client.handle(), model.c_str(), batch.data(), 65536, (int64_t)dim, nullptr, 0, out.data(), 65536, &len));
        calls++;
    }
    double rate = calls * 65536.0 / std::chrono::duration<double>(clock::now() - start).count();
    std::printf("cpp p50_us=%.1f p99_us=%.1f batch65536_points_per_s=%.0f samples=%zu\n", latencies[latencies.size() / 2],
                latencies[(size_t)(latencies.size() * 0.99)], rate, latencies.size());
}
