// demos_maas.hpp — header-only C++17 wrapper of the Demos.Maas C ABI (demos_maas.h).
//
//   demos::maas::Client: RAII connection; std::vector / pointer+size (and std::span in C++20) in,
//     std::vector out; every failure throws demos::maas::Error carrying the protocol status code.
//   demos::maas::Server: serve C++ functions (plain functions, lambdas, std::function) as a model.
//     Exceptions thrown by your functions are caught here and reported to the remote caller as
//     ModelError with e.what(); they never unwind into the library.
//
// Threading: a Client may be shared by threads.  Server callbacks run on library threads, several at
// once, unless the model is marked serial (Server::model(..., serial=true)).  Per-point samplers get
// a thread-local generator (demos::maas::rng()) reseeded for every chunk from the call's seed, so a
// sampler drawing only from rng() is reproducible.
#ifndef DEMOS_MAAS_HPP
#define DEMOS_MAAS_HPP

#include "demos_maas.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#if __cplusplus >= 202002L
#include <span>
#endif

namespace demos::maas {

/// A failed call: code() is the protocol status (1..13), what() the library's message.
class Error : public std::runtime_error {
public:
    Error(int code, const std::string& message)
        : std::runtime_error(std::string(maas_status_name(code)) + ": " + message), code_(code) {}
    int code() const noexcept { return code_; }
    std::string status() const { return maas_status_name(code_); }

private:
    int code_;
};

namespace detail {
inline void check(int status) {
    if (status != MAAS_OK) throw Error(status, maas_last_error());
}
inline std::string take(char* s) {
    std::string out = s ? s : "";
    maas_free(s);
    return out;
}
inline std::string number(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}
inline std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += c; }
        else if (static_cast<unsigned char>(c) < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
        else out += c;
    }
    return out + "\"";
}
inline std::string array(const std::vector<double>& values) {
    std::string out = "[";
    for (size_t i = 0; i < values.size(); i++) out += (i ? "," : "") + number(values[i]);
    return out + "]";
}
}  // namespace detail

/// The library version.
inline std::string version() { return maas_version(); }

/// Derivative kinds (see maas_gradient).
enum class Gradient { x = MAAS_GRADIENT_X, theta = MAAS_GRADIENT_THETA, vjp = MAAS_GRADIENT_VJP, jvp = MAAS_GRADIENT_JVP };

/// What a model can do: the MAAS_CAP_* bits of demos_maas.h (the protocol's capability set).
enum class Capability : uint32_t {
    evaluate = MAAS_CAP_EVALUATE,
    log_density = MAAS_CAP_LOG_DENSITY,
    sample = MAAS_CAP_SAMPLE,
    gradient_x = MAAS_CAP_GRADIENT_X,
    gradient_theta = MAAS_CAP_GRADIENT_THETA,
    evaluate_vjp = MAAS_CAP_EVALUATE_VJP,
    evaluate_jvp = MAAS_CAP_EVALUATE_JVP,
    data = MAAS_CAP_DATA,
    parameters = MAAS_CAP_PARAMETERS,
};

/// A model's description, read through the library's accessors (no JSON).
struct ModelDescription {
    std::string name, uuid, version;
    int64_t input_dim = 0;        ///< d: columns of x and of the draws
    int64_t output_dim = 0;       ///< columns of evaluate's result
    int64_t parameter_count = 0;  ///< p: values in theta (the sum of parameter_sizes)
    uint32_t capabilities = 0;    ///< MAAS_CAP_* bits
    std::vector<std::string> parameter_names;  ///< in theta's order
    std::vector<int64_t> parameter_sizes;      ///< values per parameter, same order
    bool has(Capability c) const noexcept { return (capabilities & static_cast<uint32_t>(c)) != 0; }
};

/// A connection to a MaaS server.  Move-only; closes on destruction.
class Client {
public:
    explicit Client(const std::string& uri, const std::string& options_json = "") {
        detail::check(maas_client_connect(uri.c_str(), options_json.empty() ? nullptr : options_json.c_str(), &handle_));
    }
    ~Client() { if (handle_) maas_client_close(handle_); }
    Client(Client&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Client& operator=(Client&& other) noexcept {
        if (this != &other) { if (handle_) maas_client_close(handle_); handle_ = std::exchange(other.handle_, nullptr); }
        return *this;
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Closes now; later calls throw Error(InvalidArgument).
    void close() { maas_client handle = std::exchange(handle_, nullptr); detail::check(maas_client_close(handle)); }
    maas_client handle() const noexcept { return handle_; }

    /// The model's description (one lookup the first time a model is named; no JSON).
    ModelDescription describe(const std::string& model) const {
        ModelDescription d;
        d.name = text(maas_model_name, model);
        d.uuid = text(maas_model_uuid, model);
        d.version = text(maas_model_version, model);
        d.input_dim = input_dim(model);
        d.output_dim = output_dim(model);
        d.parameter_count = parameter_count(model);
        d.capabilities = capabilities(model);
        d.parameter_sizes = parameter_sizes(model);
        for (size_t i = 0; i < d.parameter_sizes.size(); i++) {
            char* name = nullptr;
            detail::check(maas_model_parameter_name(handle_, model.c_str(), (int64_t)i, &name));
            d.parameter_names.push_back(detail::take(name));
        }
        return d;
    }
    int64_t input_dim(const std::string& model) const { return number(maas_model_input_dim, model); }
    int64_t output_dim(const std::string& model) const { return number(maas_model_output_dim, model); }
    /// The number of values theta holds.
    int64_t parameter_count(const std::string& model) const { return number(maas_model_parameter_count, model); }
    uint32_t capabilities(const std::string& model) const {
        uint32_t caps = 0;
        detail::check(maas_model_capabilities(handle_, model.c_str(), &caps));
        return caps;
    }
    bool has(const std::string& model, Capability c) const { return (capabilities(model) & static_cast<uint32_t>(c)) != 0; }
    std::vector<int64_t> parameter_sizes(const std::string& model) const {
        int64_t count = 0;
        int status = maas_model_parameter_sizes(handle_, model.c_str(), nullptr, 0, &count);
        if (status != MAAS_OK && count <= 0) detail::check(status);
        std::vector<int64_t> sizes((size_t)count);
        detail::check(maas_model_parameter_sizes(handle_, model.c_str(), sizes.data(), count, &count));
        return sizes;
    }

    std::string list_models() const { char* json = nullptr; detail::check(maas_client_list_models(handle_, &json)); return detail::take(json); }
    std::string info(const std::string& model) const { char* json = nullptr; detail::check(maas_client_model_info(handle_, model.c_str(), &json)); return detail::take(json); }

    /// log p(x_i | theta): x is n*d row-major values; returns n values.
    std::vector<double> log_density(const std::string& model, const double* x, size_t n, size_t d, const std::vector<double>& theta = {}) const {
        std::vector<double> out(n);
        int64_t len = 0;
        detail::check(maas_log_density(handle_, model.c_str(), x, (int64_t)n, (int64_t)d, theta.empty() ? nullptr : theta.data(), (int64_t)theta.size(), out.data(), (int64_t)out.size(), &len));
        return out;
    }
    std::vector<double> log_density(const std::string& model, const std::vector<double>& x, size_t d, const std::vector<double>& theta = {}) const {
        return log_density(model, x.data(), d ? x.size() / d : 0, d, theta);
    }

    /// F(theta; x_i): returns n * output_dim values (output_dim from the model's info).
    std::vector<double> evaluate(const std::string& model, const double* x, size_t n, size_t d, const std::vector<double>& theta = {}) const {
        std::vector<double> out(n * (size_t)output_dim(model));
        int64_t len = 0;
        detail::check(maas_evaluate(handle_, model.c_str(), x, (int64_t)n, (int64_t)d, theta.empty() ? nullptr : theta.data(), (int64_t)theta.size(), out.data(), (int64_t)out.size(), &len));
        return out;
    }
    std::vector<double> evaluate(const std::string& model, const std::vector<double>& x, size_t d, const std::vector<double>& theta = {}) const {
        return evaluate(model, x.data(), d ? x.size() / d : 0, d, theta);
    }

    /// A derivative; vector is needed for vjp/jvp only.
    std::vector<double> gradient(const std::string& model, Gradient kind, const double* x, size_t n, size_t d,
                                 const std::vector<double>& vector = {}, const std::vector<double>& theta = {}) const {
        int64_t columns = kind == Gradient::theta ? parameter_count(model) : kind == Gradient::jvp ? output_dim(model) : input_dim(model);
        std::vector<double> out(n * (size_t)columns);
        int64_t len = 0;
        detail::check(maas_gradient(handle_, model.c_str(), (int)kind, x, (int64_t)n, (int64_t)d, vector.empty() ? nullptr : vector.data(), (int64_t)vector.size(),
                                    theta.empty() ? nullptr : theta.data(), (int64_t)theta.size(), out.data(), (int64_t)out.size(), &len));
        return out;
    }
    std::vector<double> gradient(const std::string& model, Gradient kind, const std::vector<double>& x, size_t d,
                                 const std::vector<double>& vector = {}, const std::vector<double>& theta = {}) const {
        return gradient(model, kind, x.data(), d ? x.size() / d : 0, d, vector, theta);
    }

    /// n draws (n * input_dim values), reproducible for the same seed.
    std::vector<double> sample(const std::string& model, size_t n, uint64_t seed, const std::vector<double>& theta = {}) const {
        std::vector<double> out(n * (size_t)input_dim(model));
        int64_t len = 0;
        detail::check(maas_sample(handle_, model.c_str(), seed, (int64_t)n, theta.empty() ? nullptr : theta.data(), (int64_t)theta.size(), out.data(), (int64_t)out.size(), &len));
        return out;
    }

    /// Streams draws chunk by chunk to on_chunk(rows, n_rows, n_cols); an exception from it stops the stream and is rethrown.
    void sample_chunks(const std::string& model, size_t n, uint64_t seed, size_t chunk_rows,
                       const std::function<void(const double*, int64_t, int64_t)>& on_chunk, const std::vector<double>& theta = {}) const {
        struct State { const std::function<void(const double*, int64_t, int64_t)>* f; std::exception_ptr error; } state{&on_chunk, nullptr};
        auto trampoline = [](const double* rows, int64_t r, int64_t c, void* user) -> int {
            auto* s = static_cast<State*>(user);
            try { (*s->f)(rows, r, c); return 0; } catch (...) { s->error = std::current_exception(); return 1; }
        };
        int status = maas_sample_chunks(handle_, model.c_str(), seed, (int64_t)n, (int64_t)chunk_rows, theta.empty() ? nullptr : theta.data(), (int64_t)theta.size(), trampoline, &state);
        if (state.error) std::rethrow_exception(state.error);
        detail::check(status);
    }

    /// Rows [offset, offset+count) of a dataset (count -1 = to the end); cols receives the column count.
    std::vector<double> read_data(const std::string& model, const std::string& dataset, int64_t offset = 0, int64_t count = -1, int64_t* cols = nullptr) const {
        int64_t rows = 0, columns = 0;
        int status = maas_read_data(handle_, model.c_str(), dataset.c_str(), offset, count, nullptr, 0, &rows, &columns);
        if (status != MAAS_OK && rows * columns <= 0) detail::check(status);
        std::vector<double> out((size_t)(rows * columns));
        detail::check(maas_read_data(handle_, model.c_str(), dataset.c_str(), offset, rows, out.data(), (int64_t)out.size(), &rows, &columns));
        if (cols) *cols = columns;
        return out;
    }

    /// {"version": v, "values": {...}}
    std::string parameters(const std::string& model) const { char* json = nullptr; detail::check(maas_get_parameters(handle_, model.c_str(), &json)); return detail::take(json); }
    std::vector<double> parameter(const std::string& model, const std::string& name) const {
        int64_t len = 0;
        int status = maas_get_parameter(handle_, model.c_str(), name.c_str(), nullptr, 0, &len);
        if (status != MAAS_OK && len <= 0) detail::check(status);
        std::vector<double> out((size_t)len);
        detail::check(maas_get_parameter(handle_, model.c_str(), name.c_str(), out.data(), len, &len));
        return out;
    }
    void update_parameter(const std::string& model, const std::string& name, const std::vector<double>& values) const {
        detail::check(maas_update_parameter(handle_, model.c_str(), name.c_str(), values.data(), (int64_t)values.size()));
    }
    std::string update_parameters(const std::string& model, const std::string& values_json) const {
        char* json = nullptr;
        detail::check(maas_update_parameters(handle_, model.c_str(), values_json.c_str(), &json));
        return detail::take(json);
    }

#if __cplusplus >= 202002L
    std::vector<double> log_density(const std::string& model, std::span<const double> x, size_t d, const std::vector<double>& theta = {}) const {
        return log_density(model, x.data(), d ? x.size() / d : 0, d, theta);
    }
#endif

private:
    int64_t number(int (*accessor)(maas_client, const char*, int64_t*), const std::string& model) const {
        int64_t value = 0;
        detail::check(accessor(handle_, model.c_str(), &value));
        return value;
    }
    std::string text(int (*accessor)(maas_client, const char*, char**), const std::string& model) const {
        char* value = nullptr;
        detail::check(accessor(handle_, model.c_str(), &value));
        return detail::take(value);
    }

    maas_client handle_ = nullptr;
};

/// The per-thread generator a per-point sampler draws from; reseeded from the call's seed for every chunk.
inline std::mt19937_64& rng() { thread_local std::mt19937_64 generator; return generator; }
inline double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng()); }
inline double normal() { return std::normal_distribution<double>(0.0, 1.0)(rng()); }

/// A model parameter: default values and optional bounds (empty = unbounded).
struct Parameter {
    std::string name;
    std::vector<double> default_value;
    std::vector<double> lower = {};
    std::vector<double> upper = {};
};

// Per-point signatures (the seed's style: x is one point, params all parameters concatenated).
using PointDensity = std::function<double(const double* x, const double* params)>;
using PointGradient = std::function<void(const double* x, const double* params, double* grad)>;
using PointSampler = std::function<void(double* x, const double* params)>;
using PointEvaluate = std::function<void(const double* x, const double* params, double* y)>;
// Batch signatures (the C ABI's): x is n*d values, out as documented in demos_maas.h.
using BatchFunction = std::function<void(const double* x, int64_t n, int64_t d, const double* theta, int64_t p, double* out)>;
using BatchSampler = std::function<void(uint64_t seed, int64_t n, int64_t d, const double* theta, int64_t p, double* out)>;
using ProductFunction = std::function<void(const double* x, int64_t n, int64_t d, const double* v, int64_t v_len, const double* theta, int64_t p, double* out)>;

/// Serves C++ functions as MaaS models.  Declare a model with model(), attach its functions with
/// register_*(), then serve() (blocking) or start() (returns).  Functions attach to the model declared last.
class Server {
public:
    /// config_json as maas_server_create; empty = listen on $DEMOS_MAAS_LISTEN (comma-separated) or pipe:///tmp/demos-maas.sock.
    explicit Server(const std::string& config_json = "") {
        std::string config = config_json;
        if (config.empty()) {
            const char* env = std::getenv("DEMOS_MAAS_LISTEN");
            std::string listen = env && *env ? env : "pipe:///tmp/demos-maas.sock";
            std::string uris;
            size_t start = 0;
            while (start <= listen.size()) {
                size_t comma = listen.find(',', start);
                std::string uri = listen.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                if (!uri.empty()) uris += (uris.empty() ? "" : ",") + detail::quote(uri);
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            config = "{\"listen\": [" + uris + "]}";
        }
        detail::check(maas_server_create(config.c_str(), &handle_));
    }
    ~Server() { if (handle_) maas_server_free(handle_); }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Declares a model (name, point dimension, parameters); serial = one call at a time.
    Server& model(const std::string& name, int input_dim, std::vector<Parameter> parameters = {}, bool serial = false) {
        flush();
        pending_ = std::make_unique<Model>();
        pending_->name = name;
        pending_->input_dim = input_dim;
        pending_->parameters = std::move(parameters);
        pending_->serial = serial;
        return *this;
    }

    Server& register_density(PointDensity f) {
        return register_density_batch([f](const double* x, int64_t n, int64_t d, const double* theta, int64_t, double* out) {
            for (int64_t i = 0; i < n; i++) out[i] = f(x + i * d, theta);
        });
    }
    Server& register_density_batch(BatchFunction f) { current().log_density = std::move(f); return *this; }

    Server& register_gradient(PointGradient f) {
        return register_gradient_batch([f](const double* x, int64_t n, int64_t d, const double* theta, int64_t, double* out) {
            for (int64_t i = 0; i < n; i++) f(x + i * d, theta, out + i * d);
        });
    }
    Server& register_gradient_batch(BatchFunction f) { current().gradient = std::move(f); return *this; }
    /// d log p / dtheta: out is n * p values (p = all parameters concatenated).
    Server& register_gradient_theta_batch(BatchFunction f) { current().gradient_theta = std::move(f); return *this; }

    /// Per-draw sampler; it should draw from demos::maas::rng() (or uniform()/normal()) to be reproducible.
    Server& register_sampler(PointSampler f) {
        return register_sampler_batch([f](uint64_t seed, int64_t n, int64_t d, const double* theta, int64_t, double* out) {
            rng().seed(seed);
            for (int64_t i = 0; i < n; i++) f(out + i * d, theta);
        });
    }
    Server& register_sampler_batch(BatchSampler f) { current().sampler = std::move(f); return *this; }

    Server& register_evaluate(int output_dim, PointEvaluate f) {
        return register_evaluate_batch(output_dim, [f, output_dim](const double* x, int64_t n, int64_t d, const double* theta, int64_t, double* out) {
            for (int64_t i = 0; i < n; i++) f(x + i * d, theta, out + i * output_dim);
        });
    }
    Server& register_evaluate_batch(int output_dim, BatchFunction f) { current().output_dim = output_dim; current().evaluate = std::move(f); return *this; }
    Server& register_vjp(ProductFunction f) { current().vjp = std::move(f); return *this; }
    Server& register_jvp(ProductFunction f) { current().jvp = std::move(f); return *this; }

    /// Binds one more URI now; returns the actual address (tcp port 0 → the real port).
    std::string listen(const std::string& uri) {
        flush();
        char* bound = nullptr;
        detail::check(maas_server_listen(handle_, uri.c_str(), &bound));
        return detail::take(bound);
    }
    Server& start() { flush(); detail::check(maas_server_start(handle_)); return *this; }
    /// Blocks until stop() is called from another thread (or the process ends).
    void serve() { flush(); detail::check(maas_server_serve(handle_)); }
    void stop() { detail::check(maas_server_stop(handle_)); }
    std::string endpoints() const { char* json = nullptr; detail::check(maas_server_endpoints(handle_, &json)); return detail::take(json); }
    maas_server handle() const noexcept { return handle_; }

private:
    struct Model {
        std::string name;
        int input_dim = 0, output_dim = 0;
        bool serial = false;
        std::vector<Parameter> parameters;
        BatchFunction log_density, gradient, gradient_theta, evaluate;
        BatchSampler sampler;
        ProductFunction vjp, jvp;
    };

    Model& current() {
        if (!pending_) throw Error(MAAS_INVALID_ARGUMENT, "declare the model first: server.model(name, input_dim, parameters)");
        return *pending_;
    }

    // Exceptions never reach the library: they become the callback error message.
    template <typename F>
    static int guarded(F&& f) {
        try { f(); return 0; }
        catch (const std::exception& e) { maas_callback_error(e.what()); return 1; }
        catch (...) { maas_callback_error("unknown C++ exception"); return 1; }
    }
    static int log_density_cb(const double* x, int64_t n, int64_t d, const double* t, int64_t p, double* out, void* u) {
        return guarded([&] { static_cast<Model*>(u)->log_density(x, n, d, t, p, out); });
    }
    static int gradient_cb(const double* x, int64_t n, int64_t d, const double* t, int64_t p, double* out, void* u) {
        return guarded([&] { static_cast<Model*>(u)->gradient(x, n, d, t, p, out); });
    }
    static int gradient_theta_cb(const double* x, int64_t n, int64_t d, const double* t, int64_t p, double* out, void* u) {
        return guarded([&] { static_cast<Model*>(u)->gradient_theta(x, n, d, t, p, out); });
    }
    static int evaluate_cb(const double* x, int64_t n, int64_t d, const double* t, int64_t p, double* out, void* u) {
        return guarded([&] { static_cast<Model*>(u)->evaluate(x, n, d, t, p, out); });
    }
    static int sampler_cb(uint64_t seed, int64_t n, int64_t d, const double* t, int64_t p, double* out, void* u) {
        return guarded([&] { static_cast<Model*>(u)->sampler(seed, n, d, t, p, out); });
    }
    static int vjp_cb(const double* x, int64_t n, int64_t d, const double* v, int64_t vl, const double* t, int64_t p, double* out, void* u) {
        return guarded([&] { static_cast<Model*>(u)->vjp(x, n, d, v, vl, t, p, out); });
    }
    static int jvp_cb(const double* x, int64_t n, int64_t d, const double* v, int64_t vl, const double* t, int64_t p, double* out, void* u) {
        return guarded([&] { static_cast<Model*>(u)->jvp(x, n, d, v, vl, t, p, out); });
    }

    // Registers the declared model with the library (once its functions are known).
    void flush() {
        if (!pending_) return;
        std::unique_ptr<Model> m = std::move(pending_);
        std::string meta = "{\"name\":" + detail::quote(m->name) + ",\"input_dim\":" + std::to_string(m->input_dim) +
                           ",\"output_dim\":" + std::to_string(m->output_dim) + ",\"parameters\":[";
        for (size_t i = 0; i < m->parameters.size(); i++) {
            const auto& p = m->parameters[i];
            meta += (i ? "," : "") + std::string("{\"name\":") + detail::quote(p.name) + ",\"default\":" + detail::array(p.default_value);
            if (!p.lower.empty()) meta += ",\"lower\":" + detail::array(p.lower);
            if (!p.upper.empty()) meta += ",\"upper\":" + detail::array(p.upper);
            meta += "}";
        }
        meta += "]}";
        maas_model_callbacks cb{};
        cb.user_data = m.get();
        if (m->log_density) cb.log_density = &log_density_cb;
        if (m->gradient) cb.gradient = &gradient_cb;
        if (m->gradient_theta) cb.gradient_theta = &gradient_theta_cb;
        if (m->evaluate) cb.evaluate = &evaluate_cb;
        if (m->sampler) cb.sampler = &sampler_cb;
        if (m->vjp) cb.vjp = &vjp_cb;
        if (m->jvp) cb.jvp = &jvp_cb;
        detail::check(maas_server_register_model(handle_, meta.c_str(), &cb, m->serial ? MAAS_MODEL_SERIAL : 0));
        models_.push_back(std::move(m));
    }

    maas_server handle_ = nullptr;
    std::unique_ptr<Model> pending_;
    std::vector<std::unique_ptr<Model>> models_;  // user_data of registered callbacks: lives as long as the server
};

}  // namespace demos::maas

/// The seed document's name for the server.
using DemosMaaSServer = demos::maas::Server;

#endif  // DEMOS_MAAS_HPP
