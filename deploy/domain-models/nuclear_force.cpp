// The "nuclear-force" model in C++, served by `maas serve --native libnuclear_force.so` (no main, no
// server code): the Malfliet-Tjon MT-III nucleon-nucleon potential. Evaluate gives the S-wave
// momentum-space matrix element V0(k, k') with exact VJP and JVP; the deuteron is solved once, when
// the metadata is first asked for, and travels as the dataset "deuteron" (r, u(r)). The same physics
// as src/Demos.Maas.Models/MalflietTjonPotential.cs; the tests compare the two.
//
// Build: g++ -O2 -std=c++17 -shared -fPIC -I bindings/c -o libnuclear_force.so nuclear_force.cpp
// Serve: maas serve --native ./libnuclear_force.so --listen tcp://127.0.0.1:5000
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "demos_maas.h"

namespace {

constexpr double hbar2_over_m = 41.47;  // MeV fm^2
constexpr double pi = 3.14159265358979323846;
constexpr double defaults[4] = {1438.72, 3.11, 626.885, 1.55};  // V_R, mu_R, V_A, mu_A

double potential(double r, const double* t) { return (t[0] * std::exp(-t[1] * r) - t[2] * std::exp(-t[3] * r)) / r; }

// ln[(mu^2 + (k + k')^2) / (mu^2 + (k - k')^2)] / (4 k k'), with its limit at k k' = 0.
double yukawa_kernel(double k, double kp, double mu)
{
    double b = mu * mu + (k - kp) * (k - kp);
    double z = 4 * k * kp / b;
    return z == 0 ? 1 / b : std::log(1 + z) / z / b;
}

void yukawa_kernel_gradient(double k, double kp, double mu, double& dk, double& dkp)
{
    double a = mu * mu + (k + kp) * (k + kp), b = mu * mu + (k - kp) * (k - kp);
    double log_ratio = std::log(a / b), kk = 4 * k * kp;
    dk = ((2 * (k + kp) / a) - (2 * (k - kp) / b)) / kk - log_ratio / (kk * k);
    dkp = ((2 * (k + kp) / a) + (2 * (k - kp) / b)) / kk - log_ratio / (kk * kp);
}

double matrix_element(double k, double kp, const double* t)
{
    return 2 / pi * (t[0] * yukawa_kernel(k, kp, t[1]) - t[2] * yukawa_kernel(k, kp, t[3]));
}

void matrix_element_gradient(double k, double kp, const double* t, double& dk, double& dkp)
{
    double rk, rkp, ak, akp;
    yukawa_kernel_gradient(k, kp, t[1], rk, rkp);
    yukawa_kernel_gradient(k, kp, t[3], ak, akp);
    dk = 2 / pi * (t[0] * rk - t[2] * ak);
    dkp = 2 / pi * (t[0] * rkp - t[2] * akp);
}

// Numerov outward from u(0) = 0 to 30 fm in steps of 0.0005 fm; returns u(30 fm). With `wave`, stores
// u every 0.05 fm up to 15 fm, normalised there.
double shoot(const double* t, double energy, std::vector<double>* wave)
{
    const double step = 0.0005, h2 = step * step / 12;
    const int steps = static_cast<int>(std::lround(30 / step));
    const double c = (t[0] - t[2]) / hbar2_over_m;  // f u -> c u'(0) at r = 0
    double u_prev = 0, fu_prev = c, u = step + c * step * step / 2;
    double fu = (potential(step, t) - energy) / hbar2_over_m * u, norm = 0;
    if (wave) wave->assign(301, 0.0);
    for (int n = 1; n < steps; n++) {
        double r = (n + 1) * step;
        double f_next = (potential(r, t) - energy) / hbar2_over_m;
        double next = (2 * u - u_prev + h2 * (10 * fu + fu_prev)) / (1 - h2 * f_next);
        u_prev = u; fu_prev = fu; u = next; fu = f_next * next;
        if (r <= 15) norm += u * u * step;
        int index = (n + 1) / 100;
        if (wave && (n + 1) % 100 == 0 && index < 301) (*wave)[index] = u;
    }
    if (wave) for (double& v : *wave) v /= std::sqrt(norm);
    return u;
}

// Bisection on the binding energy B: u(30 fm) changes sign at the ground state.
double solve_deuteron(const double* t, std::vector<double>* wave)
{
    double low = 1e-9, high = 100;
    if (shoot(t, -low, nullptr) > 0 || shoot(t, -high, nullptr) < 0) return NAN;
    while (high - low > 1e-12 * high) {
        double mid = 0.5 * (low + high);
        if (shoot(t, -mid, nullptr) > 0) high = mid; else low = mid;
    }
    double binding = 0.5 * (low + high);
    if (wave) shoot(t, -binding, wave);
    return binding;
}

thread_local char last_error[256];

int check(const double* t, int64_t p)
{
    if (p != 4 || !(t[1] > 0) || !(t[3] > 0)) {
        std::snprintf(last_error, sizeof last_error, "need 4 parameters with mu_R, mu_A > 0");
        return 1;
    }
    return 0;
}

int evaluate(const double* x, int64_t n, int64_t, const double* t, int64_t p, double* out, void*)
{
    if (check(t, p)) return 1;
    for (int64_t i = 0; i < n; i++) out[i] = matrix_element(x[2 * i], x[2 * i + 1], t);
    return 0;
}

int vjp(const double* x, int64_t n, int64_t, const double* v, int64_t, const double* t, int64_t p, double* out, void*)
{
    if (check(t, p)) return 1;
    for (int64_t i = 0; i < n; i++) {
        double dk, dkp;
        matrix_element_gradient(x[2 * i], x[2 * i + 1], t, dk, dkp);
        out[2 * i] = v[i] * dk;
        out[2 * i + 1] = v[i] * dkp;
    }
    return 0;
}

int jvp(const double* x, int64_t n, int64_t, const double* v, int64_t, const double* t, int64_t p, double* out, void*)
{
    if (check(t, p)) return 1;
    for (int64_t i = 0; i < n; i++) {
        double dk, dkp;
        matrix_element_gradient(x[2 * i], x[2 * i + 1], t, dk, dkp);
        out[i] = dk * v[2 * i] + dkp * v[2 * i + 1];
    }
    return 0;
}

std::string build_metadata()
{
    std::vector<double> wave;
    double binding = solve_deuteron(defaults, &wave);
    char number[64];
    std::string values;
    for (size_t i = 0; i < wave.size(); i++) {
        std::snprintf(number, sizeof number, "%s%.17g, %.17g", i ? ", " : "", i * 0.05, wave[i]);
        values += number;
    }
    std::snprintf(number, sizeof number, "%.4f", binding);
    return std::string("{\"name\": \"nuclear-force\", \"version\": \"1.0.0\", \"input_dim\": 2, \"output_dim\": 1,")
        + " \"uuid\": \"0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a13\", \"authors\": [\"Demos.Maas examples\"],"
        + " \"description\": \"Malfliet-Tjon MT-III NN potential (C++): x = (k, k') [1/fm], output V0(k, k') [MeV fm^3].\","
        + " \"parameters\": [{\"name\": \"VR\", \"default\": 1438.72, \"lower\": 0, \"upper\": 1e5},"
        + " {\"name\": \"muR\", \"default\": 3.11, \"lower\": 1e-3, \"upper\": 100},"
        + " {\"name\": \"VA\", \"default\": 626.885, \"lower\": 0, \"upper\": 1e5},"
        + " {\"name\": \"muA\", \"default\": 1.55, \"lower\": 1e-3, \"upper\": 100}],"
        + " \"datasets\": [{\"name\": \"deuteron\", \"columns\": 2, \"description\": \"deuteron S-wave u(r); binding energy "
        + number + " MeV\", \"values\": [" + values + "]}]}";
}

}  // namespace

extern "C" const char* maas_plugin_metadata(void)
{
    static const std::string metadata = build_metadata();  // thread-safe one-time initialisation
    return metadata.c_str();
}

extern "C" const char* maas_plugin_error(void) { return last_error; }

extern "C" int maas_plugin_callbacks(maas_model_callbacks* callbacks)
{
    std::memset(callbacks, 0, sizeof *callbacks);
    callbacks->evaluate = evaluate;
    callbacks->vjp = vjp;
    callbacks->jvp = jvp;
    return 0;
}

// For callers that load the library directly (the cross-validation tests): the binding energy.
extern "C" double nuclear_force_deuteron_binding(const double* theta) { return solve_deuteron(theta, nullptr); }
