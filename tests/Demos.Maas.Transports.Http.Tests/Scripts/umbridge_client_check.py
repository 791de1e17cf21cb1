"""Drives a UM-Bridge 1.0 server through every route, with only `requests` (Debian python3-requests).

Usage: umbridge_client_check.py BASE_URL            -- conformance checks, prints "OK <n> checks"
       umbridge_client_check.py BASE_URL --bench N  -- N /Evaluate calls of decay, prints "p50_ms <x>"

The server must host the test models "decay" (Evaluate, VJP, JVP; 2 inputs, 8 outputs; parameter
background = 5), "gaussian1d" (LogDensity only) and "faulty" (LogDensity; fails for x < 0).
The checks mirror what UM-Bridge's own Python client (umbridge.HTTPModel) and its model tests do.
"""
import json
import math
import sys
import time

import requests

BASE = sys.argv[1].rstrip("/")
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def post(route, body):
    return requests.post(f"{BASE}/{route}", json=body, timeout=30)


def expect_error(response, status, kind, what):
    check(response.status_code == status, f"{what}: status {response.status_code}, expected {status}: {response.text}")
    error = response.json().get("error", {})
    check(error.get("type") == kind, f"{what}: error type {error.get('type')}, expected {kind}")
    check(isinstance(error.get("message"), str) and error["message"], f"{what}: error has a message")


def activity(a, lam, b, t):
    return a * math.exp(-lam * t) + b


def close(a, b, tol=1e-6):
    return all(abs(x - y) <= tol * max(1.0, abs(x), abs(y)) for x, y in zip(a, b)) and len(a) == len(b)


def bench(n):
    body = {"name": "decay", "input": [[100.0, 0.3]], "config": {}}
    session = requests.Session()
    for _ in range(20):
        session.post(f"{BASE}/Evaluate", json=body).raise_for_status()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        session.post(f"{BASE}/Evaluate", json=body).raise_for_status()
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"p50_ms {times[len(times) // 2] * 1000:.4f}")


def main():
    info = requests.get(f"{BASE}/Info", timeout=30).json()
    check(info["protocolVersion"] == 1.0, "protocol version 1.0")
    check("decay" in info["models"] and "gaussian1d" in info["models"], f"models listed: {info['models']}")

    support = post("ModelInfo", {"name": "decay"}).json()["support"]
    # decay maps 2 inputs to 8 outputs: UM-Bridge 1.0 wants an ApplyHessian output of the output's length,
    # the Hessian action has the input's, so the server offers ApplyHessian only where the two agree.
    check(support == {"Evaluate": True, "Gradient": True, "ApplyJacobian": True, "ApplyHessian": False}, f"decay support {support}")
    support = post("ModelInfo", {"name": "faulty"}).json()["support"]
    check(support == {"Evaluate": True, "Gradient": False, "ApplyJacobian": False, "ApplyHessian": False}, f"faulty support {support}")
    check(post("InputSizes", {"name": "decay", "config": {}}).json() == {"inputSizes": [2]}, "decay input sizes")
    check(post("OutputSizes", {"name": "decay", "config": {}}).json() == {"outputSizes": [8]}, "decay output sizes")

    out = post("Evaluate", {"name": "decay", "input": [[100.0, 0.3]], "config": {}}).json()["output"]
    check(len(out) == 1 and close(out[0], [activity(100, 0.3, 5, t) for t in range(8)]), f"decay evaluate {out}")
    out = post("Evaluate", {"name": "decay", "input": [[100.0, 0.3]], "config": {"background": 2.5}}).json()["output"]
    check(close(out[0], [activity(100, 0.3, 2.5, t) for t in range(8)]), "config values are parameters")
    out = post("Evaluate", {"name": "decay", "input": [[100.0, 0.3]]}).json()["output"]
    check(close(out[0], [activity(100, 0.3, 5, t) for t in range(8)]), "config may be absent")

    # Gradient (VJP) and ApplyJacobian (JVP) against finite differences of Evaluate.
    x = [100.0, 0.3]
    h = 1e-6
    def f(p):
        return post("Evaluate", {"name": "decay", "input": [p], "config": {}}).json()["output"][0]
    base = f(x)
    jac = []  # jac[j][k] = d out_k / d x_j
    for j in range(2):
        p = list(x)
        p[j] += h * max(1.0, abs(x[j]))
        fp = f(p)
        jac.append([(fp[k] - base[k]) / (p[j] - x[j]) for k in range(8)])
    sens = [float(k) for k in range(8)]
    grad = post("Gradient", {"name": "decay", "outWrt": 0, "inWrt": 0, "input": [x], "sens": sens, "config": {}}).json()["output"]
    check(close(grad, [sum(jac[j][k] * sens[k] for k in range(8)) for j in range(2)], 1e-3), f"gradient {grad}")
    vec = [1.0, -2.0]
    jv = post("ApplyJacobian", {"name": "decay", "outWrt": 0, "inWrt": 0, "input": [x], "vec": vec, "config": {}}).json()["output"]
    check(close(jv, [sum(jac[j][k] * vec[j] for j in range(2)) for k in range(8)], 1e-3), f"apply jacobian {jv}")

    # ApplyHessian is not offered for decay (input and output sizes differ): UnsupportedFeature.
    expect_error(post("ApplyHessian", {"name": "decay", "outWrt": 0, "inWrt1": 0, "inWrt2": 0, "input": [x], "sens": sens, "vec": vec, "config": {}}), 400, "UnsupportedFeature", "hessian with input size != output size")

    # A log-density-only model: one output, the log-density; its gradient is sens * d logp / dx.
    check(post("OutputSizes", {"name": "gaussian1d", "config": {}}).json() == {"outputSizes": [1]}, "gaussian1d output size")
    out = post("Evaluate", {"name": "gaussian1d", "input": [[0.0]], "config": {}}).json()["output"]
    check(close(out[0], [-0.5 * math.log(2 * math.pi)]), f"gaussian1d log-density {out}")
    grad = post("Gradient", {"name": "gaussian1d", "outWrt": 0, "inWrt": 0, "input": [[1.5]], "sens": [2.0], "config": {}}).json()["output"]
    check(close(grad, [-3.0]), f"gaussian1d gradient {grad}")
    hv = post("ApplyHessian", {"name": "gaussian1d", "outWrt": 0, "inWrt1": 0, "inWrt2": 0, "input": [[0.5]], "sens": [2.0], "vec": [3.0], "config": {}}).json()["output"]
    check(close(hv, [-6.0], 1e-5), f"gaussian1d hessian {hv}")
    out = post("Evaluate", {"name": "gaussian1d", "input": [[1.0]], "config": {"mu": 1.0}}).json()["output"]
    check(close(out[0], [-0.5 * math.log(2 * math.pi)]), "gaussian1d config mu")

    # Errors.
    expect_error(post("Evaluate", {"name": "nope", "input": [[1.0]], "config": {}}), 400, "ModelNotFound", "unknown model")
    expect_error(post("ModelInfo", {"name": "nope"}), 400, "ModelNotFound", "unknown model info")
    expect_error(post("InputSizes", {"name": "nope", "config": {}}), 400, "ModelNotFound", "unknown model sizes")
    expect_error(post("Evaluate", {"name": "decay", "input": [[1.0]], "config": {}}), 400, "InvalidInput", "short input")
    expect_error(post("Evaluate", {"name": "decay", "input": [[1.0, 2.0], [3.0]], "config": {}}), 400, "InvalidInput", "two inputs")
    expect_error(post("Evaluate", {"name": "decay", "input": [["a", 2.0]], "config": {}}), 400, "InvalidInput", "non-numeric input")
    expect_error(post("Evaluate", {"name": "decay", "input": [[1.0, 2.0]], "config": {"background": [1.0, 2.0]}}), 400, "InvalidInput", "config of the wrong size")
    expect_error(post("Gradient", {"name": "decay", "outWrt": 1, "inWrt": 0, "input": [x], "sens": sens, "config": {}}), 400, "InvalidInput", "outWrt out of range")
    expect_error(post("Gradient", {"name": "decay", "outWrt": 0, "inWrt": 0, "input": [x], "sens": [1.0], "config": {}}), 400, "InvalidInput", "short sens")
    expect_error(post("ApplyJacobian", {"name": "decay", "outWrt": 0, "inWrt": 3, "input": [x], "vec": vec, "config": {}}), 400, "InvalidInput", "inWrt out of range")
    expect_error(post("ApplyHessian", {"name": "faulty", "outWrt": 0, "inWrt1": 0, "inWrt2": 0, "input": [[1.0]], "sens": [1.0], "vec": [1.0], "config": {}}), 400, "UnsupportedFeature", "hessian without a gradient")
    expect_error(post("Gradient", {"name": "faulty", "outWrt": 0, "inWrt": 0, "input": [[1.0]], "sens": [1.0], "config": {}}), 400, "UnsupportedFeature", "gradient without a gradient")
    expect_error(post("ApplyJacobian", {"name": "faulty", "outWrt": 0, "inWrt": 0, "input": [[1.0]], "vec": [1.0], "config": {}}), 400, "UnsupportedFeature", "jacobian without a gradient")
    expect_error(post("ApplyHessian", {"name": "gaussian1d", "outWrt": 0, "inWrt1": 0, "inWrt2": 1, "input": [[0.5]], "sens": [1.0], "vec": [1.0], "config": {}}), 400, "InvalidInput", "inWrt2 out of range")
    expect_error(post("Evaluate", {"name": "faulty", "input": [[-1.0]], "config": {}}), 500, "InvalidOutput", "model failure")
    response = requests.post(f"{BASE}/Evaluate", data=b'{"name": "decay", "input": [[1', headers={"Content-Type": "application/json"}, timeout=30)
    expect_error(response, 400, "InvalidInput", "malformed JSON")
    expect_error(post("Evaluate", {"input": [[1.0, 2.0]]}), 400, "InvalidInput", "no name")

    # The server still serves.
    check(post("Evaluate", {"name": "decay", "input": [[100.0, 0.3]], "config": {}}).status_code == 200, "still serving")
    print(f"OK {checks} checks")


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--bench":
        bench(int(sys.argv[3]))
    else:
        main()
