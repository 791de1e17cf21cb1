// The C++ wrapper end to end: C++-served models and the C++ client in one process over tcp and pipe,
// and the error paths (exceptions with status codes, throwing callbacks, closed clients, bad sizes).
#include "demos_maas.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>

using demos::maas::Client;
using demos::maas::Error;
using demos::maas::Gradient;
using demos::maas::Server;

namespace {

double normal_density(const double* x, const double* p) {
    double z0 = (x[0] - p[0]) / p[2], z1 = (x[1] - p[1]) / p[2];
    return -0.5 * (z0 * z0 + z1 * z1) - 2 * std::log(p[2]) - std::log(2 * M_PI);
}

void normal_gradient(const double* x, const double* p, double* g) {
    g[0] = -(x[0] - p[0]) / (p[2] * p[2]);
    g[1] = -(x[1] - p[1]) / (p[2] * p[2]);
}

void normal_sample(double* x, const double* p) {
    x[0] = p[0] + p[2] * demos::maas::normal();
    x[1] = p[1] + p[2] * demos::maas::normal();
}

struct Endpoints {
    std::unique_ptr<Server> server;
    std::string tcp, pipe;
};

Endpoints& shared_server() {
    static Endpoints endpoints = [] {
        Endpoints e;
        e.server = std::make_unique<Server>("{\"log_level\": \"error\"}");
        e.server->model("cppnormal", 2, {{"mu", {0.0, 0.0}}, {"sigma", {1.0}, {1e-9}}});
        e.server->register_density(normal_density);
        e.server->register_gradient(normal_gradient);
        e.server->register_sampler(normal_sample);
        e.server->register_gradient_theta_batch([](const double* x, int64_t n, int64_t, const double* p, int64_t, double* out) {
            for (int64_t i = 0; i < n; i++) {
                double s = p[2], r0 = x[2 * i] - p[0], r1 = x[2 * i + 1] - p[1];
                out[3 * i] = r0 / (s * s);
                out[3 * i + 1] = r1 / (s * s);
                out[3 * i + 2] = (r0 * r0 + r1 * r1) / (s * s * s) - 2 / s;
            }
        });
        e.server->model("throwing", 1);
        e.server->register_density([](const double* x, const double*) -> double {
            if (x[0] < 0) throw std::domain_error("negative x is outside the model");
            if (x[0] > 100) throw 42;  // not a std::exception
            return x[0];
        });
        e.server->model("square", 2, {}, /*serial=*/true);
        e.server->register_evaluate(1, [](const double* x, const double*, double* y) { y[0] = x[0] * x[0] + x[1] * x[1]; });
        e.tcp = e.server->listen("tcp://127.0.0.1:0");
        e.pipe = e.server->listen("pipe:///tmp/demos-maas-gtest-" + std::to_string(getpid()) + ".sock");
        return e;
    }();
    return endpoints;
}

class Transport : public ::testing::TestWithParam<std::string> {
protected:
    std::string uri() const { return GetParam() == "tcp" ? shared_server().tcp : shared_server().pipe; }
};

TEST_P(Transport, LogDensityEqualsNative) {
    Client client(uri());
    std::vector<double> x = {0.1, 0.2, -1.0, 3.0, 2.5, -0.5};
    auto logp = client.log_density("cppnormal", x, 2);
    ASSERT_EQ(logp.size(), 3u);
    const double p[3] = {0, 0, 1};
    for (size_t i = 0; i < 3; i++) EXPECT_NEAR(logp[i], normal_density(&x[2 * i], p), 1e-12 * std::fabs(logp[i]));
}

TEST_P(Transport, ExplicitThetaAndGradient) {
    Client client(uri());
    std::vector<double> x = {1.0, 2.0};
    std::vector<double> theta = {0.5, 0.5, 2.0};
    EXPECT_NEAR(client.log_density("cppnormal", x, 2, theta)[0], normal_density(x.data(), theta.data()), 1e-12);
    auto g = client.gradient("cppnormal", Gradient::x, x, 2);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_DOUBLE_EQ(g[0], -1.0);
    EXPECT_DOUBLE_EQ(g[1], -2.0);
    auto gt = client.gradient("cppnormal", Gradient::theta, x, 2);
    ASSERT_EQ(gt.size(), 3u);
    EXPECT_DOUBLE_EQ(gt[0], 1.0);
    EXPECT_DOUBLE_EQ(gt[2], 5.0 - 2.0);
}

TEST_P(Transport, SampleIsReproducible) {
    Client client(uri());
    auto a = client.sample("cppnormal", 500, 11), b = client.sample("cppnormal", 500, 11), c = client.sample("cppnormal", 500, 12);
    ASSERT_EQ(a.size(), 1000u);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    size_t rows = 0;
    client.sample_chunks("cppnormal", 500, 11, 50, [&](const double*, int64_t r, int64_t) { rows += (size_t)r; });
    EXPECT_EQ(rows, 500u);
}

TEST_P(Transport, EvaluateOnSerialModel) {
    Client client(uri());
    auto y = client.evaluate("square", std::vector<double>{1, 2, 3, 4}, 2);
    ASSERT_EQ(y.size(), 2u);
    EXPECT_EQ(y[0], 5.0);
    EXPECT_EQ(y[1], 25.0);
}

TEST_P(Transport, Parameters) {
    Client client(uri());
    client.update_parameter("cppnormal", "sigma", {2.0});
    EXPECT_EQ(client.parameter("cppnormal", "sigma"), std::vector<double>{2.0});
    EXPECT_NE(client.parameters("cppnormal").find("\"sigma\":[2]"), std::string::npos);
    client.update_parameters("cppnormal", "{\"sigma\": 1}");
    try {
        client.update_parameter("cppnormal", "sigma", {-1.0});
        FAIL() << "out-of-bounds update accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), MAAS_INVALID_ARGUMENT);
    }
}

TEST_P(Transport, ThrowingCallbackBecomesModelError) {
    Client client(uri());
    try {
        client.log_density("throwing", std::vector<double>{-1.0}, 1);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), MAAS_MODEL_ERROR);
        EXPECT_NE(std::string(e.what()).find("negative x is outside the model"), std::string::npos) << e.what();
    }
    try {
        client.log_density("throwing", std::vector<double>{1000.0}, 1);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), MAAS_MODEL_ERROR);
        EXPECT_NE(std::string(e.what()).find("unknown C++ exception"), std::string::npos);
    }
    EXPECT_EQ(client.log_density("throwing", std::vector<double>{3.0}, 1)[0], 3.0);  // the server lives on
}

TEST_P(Transport, BadInput) {
    Client client(uri());
    auto expect_code = [](int code, auto&& f) {
        try { f(); FAIL() << "no error"; } catch (const Error& e) { EXPECT_EQ(e.code(), code) << e.what(); EXPECT_GT(std::string(e.what()).size(), 20u); }
    };
    expect_code(MAAS_INVALID_ARGUMENT, [&] { client.log_density("cppnormal", std::vector<double>{1, 2, 3}, 3); });
    expect_code(MAAS_NOT_FOUND, [&] { client.log_density("nope", std::vector<double>{1, 2}, 2); });
    expect_code(MAAS_UNSUPPORTED, [&] { client.sample("square", 3, 1); });
    expect_code(MAAS_INVALID_ARGUMENT, [&] { client.log_density("cppnormal", std::vector<double>{1, 2}, 2, {1.0}); });
    std::vector<double> out(1);
    double x[4] = {0, 0, 0, 0};
    int64_t needed = 0;
    EXPECT_EQ(maas_log_density(client.handle(), "cppnormal", x, 2, 2, nullptr, 0, out.data(), 1, &needed), MAAS_INVALID_ARGUMENT);
    EXPECT_EQ(needed, 2);
}

TEST_P(Transport, ClosedClient) {
    Client client(uri());
    maas_client raw = client.handle();
    client.close();
    try {
        client.log_density("cppnormal", std::vector<double>{0, 0}, 2);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), MAAS_INVALID_ARGUMENT);
    }
    double x[2] = {0, 0}, out[1];
    EXPECT_EQ(maas_log_density(raw, "cppnormal", x, 1, 2, nullptr, 0, out, 1, nullptr), MAAS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(maas_last_error()).find("closed"), std::string::npos);
}

TEST_P(Transport, DescriptionComesFromTheAccessors) {
    Client client(uri());
    auto d = client.describe("cppnormal");
    EXPECT_EQ(d.name, "cppnormal");
    EXPECT_EQ(d.version, "1.0.0");  // the native server's default
    EXPECT_EQ(d.uuid.size(), 36u);
    EXPECT_EQ(d.input_dim, 2);
    EXPECT_EQ(d.output_dim, 0);
    EXPECT_EQ(d.parameter_count, 3);
    EXPECT_EQ(d.parameter_names, (std::vector<std::string>{"mu", "sigma"}));
    EXPECT_EQ(d.parameter_sizes, (std::vector<int64_t>{2, 1}));
    EXPECT_TRUE(d.has(demos::maas::Capability::log_density));
    EXPECT_TRUE(d.has(demos::maas::Capability::gradient_theta));
    EXPECT_FALSE(d.has(demos::maas::Capability::evaluate));
    EXPECT_EQ(d.capabilities, (uint32_t)(MAAS_CAP_LOG_DENSITY | MAAS_CAP_GRADIENT_X | MAAS_CAP_GRADIENT_THETA | MAAS_CAP_SAMPLE | MAAS_CAP_PARAMETERS));
    EXPECT_EQ(client.describe(d.uuid).name, "cppnormal");  // a model can be named by its uuid
    EXPECT_EQ(client.output_dim("square"), 1);
    EXPECT_TRUE(client.has("square", demos::maas::Capability::evaluate));
    EXPECT_TRUE(client.parameter_sizes("square").empty());
}

TEST_P(Transport, DescriptionErrors) {
    Client client(uri());
    try {
        client.describe("nope");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), MAAS_NOT_FOUND);
        EXPECT_EQ(e.status(), maas_status_name(MAAS_NOT_FOUND));
    }
    int64_t sizes[1];
    int64_t count = 0;
    EXPECT_EQ(maas_model_parameter_sizes(client.handle(), "cppnormal", sizes, 1, &count), MAAS_INVALID_ARGUMENT);
    EXPECT_EQ(count, 2);
    EXPECT_EQ(maas_model_input_dim(client.handle(), "cppnormal", nullptr), MAAS_INVALID_ARGUMENT);
    client.close();
    try {
        client.input_dim("cppnormal");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), MAAS_INVALID_ARGUMENT);
    }
}

TEST_P(Transport, ManyThreadsShareOneClient) {
    Client client(uri());
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; i++) {
                std::vector<double> x = {double(t), double(i)};
                const double p[3] = {0, 0, 1};
                try {
                    if (std::fabs(client.log_density("cppnormal", x, 2)[0] - normal_density(x.data(), p)) > 1e-12 * 100) wrong++;
                } catch (...) { wrong++; }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, Transport, ::testing::Values("tcp", "pipe"));

TEST(Client, ConnectFailureThrowsUnavailable) {
    try {
        Client client("pipe:///tmp/demos-maas-nobody-here.sock", "{\"connect_timeout_ms\": 2000}");
        FAIL() << "connected to nothing";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), MAAS_UNAVAILABLE);
        EXPECT_EQ(e.status(), "Unavailable");
    }
}

TEST(Client, MoveKeepsOneOwner) {
    Client a(shared_server().tcp);
    Client b(std::move(a));
    EXPECT_EQ(a.handle(), nullptr);
    EXPECT_NE(b.list_models().find("cppnormal"), std::string::npos);
}

TEST(Server, RegisterWithoutModelThrows) {
    Server server("{}");
    EXPECT_THROW(server.register_density(normal_density), Error);
}

TEST(Server, DuplicateModelThrows) {
    Server server("{}");
    server.model("m", 1).register_density([](const double* x, const double*) { return x[0]; });
    server.model("m", 1).register_density([](const double* x, const double*) { return x[0]; });
    EXPECT_THROW(server.listen("tcp://127.0.0.1:0"), Error);
}

TEST(Server, BadConfigThrows) {
    EXPECT_THROW(Server("{\"listen\": 3}"), Error);
    EXPECT_THROW(Server("not json"), Error);
}

TEST(Server, StartStopInAnotherThread) {
    Server server("{\"log_level\": \"none\"}");
    server.model("one", 1).register_density([](const double*, const double*) { return 1.0; });
    std::string uri = server.listen("tcp://127.0.0.1:0");
    std::thread serving([&] { server.serve(); });
    {
        Client client(uri);
        EXPECT_EQ(client.log_density("one", std::vector<double>{0.0}, 1)[0], 1.0);
    }
    server.stop();
    serving.join();
    EXPECT_THROW(Client(uri, "{\"connect_timeout_ms\": 1000}"), Error);
}

TEST(Library, StatusNamesComeFromTheLibrary) {
    for (int code = 1; code <= 13; code++) EXPECT_EQ(Error(code, "m").status(), maas_status_name(code));
    EXPECT_EQ(std::string(Error(MAAS_NOT_FOUND, "why").what()), "NotFound: why");
}

TEST(Library, NullHandlesAreInvalidArgument) {
    double x[1] = {0}, out[1];
    EXPECT_EQ(maas_log_density(nullptr, "m", x, 1, 1, nullptr, 0, out, 1, nullptr), MAAS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(maas_last_error()).find("NULL"), std::string::npos);
    EXPECT_EQ(maas_server_stop(nullptr), MAAS_INVALID_ARGUMENT);
    EXPECT_FALSE(demos::maas::version().empty());
}

}  // namespace
