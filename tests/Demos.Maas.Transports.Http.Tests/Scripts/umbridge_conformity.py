"""UM-Bridge 1.0 protocol conformity checks, run for every model named on the command line.

Usage: umbridge_conformity.py BASE_URL INPUT_VALUE MODEL [MODEL ...]
Prints "CONFORMS <n> checks". Uses only `requests`. The checks follow the protocol conformity
suite of the UM-Bridge project (testing/protocol_conformity_1.0): answer shapes with no extra keys,
supported features answer 200 with outputs of the declared sizes, unsupported features answer 400
UnsupportedFeature even without arguments, wrong sizes and wrt indices answer 400 InvalidInput,
unknown models 400 ModelNotFound; error bodies are exactly {"error": {"type", "message"}}.
"""
import json
import sys

import requests

BASE = sys.argv[1].rstrip("/")
VALUE = float(sys.argv[2])
MODELS = sys.argv[3:]
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def numbers(values):
    return isinstance(values, list) and len(values) >= 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def error_of(response, kind, what):
    check(response.status_code == 400, f"{what}: status {response.status_code}: {response.text}")
    body = response.json()
    check(set(body) == {"error"} and set(body["error"]) == {"type", "message"}, f"{what}: error body shape {body}")
    check(body["error"]["type"] == kind and isinstance(body["error"]["message"], str), f"{what}: type {body['error']['type']}, expected {kind}")


def post(route, body=None, raw=None):
    if raw is not None:
        return requests.post(f"{BASE}/{route}", data=raw, timeout=60)
    return requests.post(f"{BASE}/{route}", data=json.dumps(body, indent=4) if body is not None else None, timeout=60)


requests.head(BASE, timeout=30)  # reachable at all

info = requests.get(f"{BASE}/Info", timeout=30)
check(info.status_code == 200, "Info status")
body = info.json()
check(set(body) == {"protocolVersion", "models"} and body["protocolVersion"] == 1.0, f"Info shape {body}")
check(all(isinstance(m, str) for m in body["models"]), "model names are strings")
for m in MODELS:
    check(m in body["models"], f"{m} listed")

error_of(post("ModelInfo", {"name": "wrong_model_name"}), "ModelNotFound", "ModelInfo of a wrong name")
error_of(post("Evaluate", {"name": "wrong_model_name"}), "ModelNotFound", "Evaluate of a wrong name")

for model in MODELS:
    name = {"name": model}
    r = post("ModelInfo", name)
    check(r.status_code == 200, f"{model}: ModelInfo status")
    support = r.json()
    check(set(support) == {"support"} and set(support["support"]) <= {"Evaluate", "Gradient", "ApplyJacobian", "ApplyHessian"}
          and all(isinstance(v, bool) for v in support["support"].values()), f"{model}: ModelInfo shape {support}")
    support = support["support"]
    r = post("InputSizes", name)
    check(r.status_code == 200 and set(r.json()) == {"inputSizes"} and all(isinstance(n, int) for n in r.json()["inputSizes"]) and r.json()["inputSizes"], f"{model}: InputSizes {r.text}")
    ins = r.json()["inputSizes"]
    r = post("OutputSizes", name)
    check(r.status_code == 200 and set(r.json()) == {"outputSizes"} and all(isinstance(n, int) for n in r.json()["outputSizes"]) and r.json()["outputSizes"], f"{model}: OutputSizes {r.text}")
    outs = r.json()["outputSizes"]
    good = [[VALUE] * n for n in ins]
    bad = [[VALUE] * (n + 1) for n in ins]

    if support.get("Evaluate"):
        r = post("Evaluate", {"name": model, "input": good, "config": {}})
        check(r.status_code == 200, f"{model}: Evaluate status {r.status_code} {r.text}")
        out = r.json()
        check(set(out) == {"output"} and len(out["output"]) == len(outs) and all(numbers(v) and len(v) == n for v, n in zip(out["output"], outs)), f"{model}: Evaluate shape {out}")
        error_of(post("Evaluate", {"name": model, "input": bad, "config": {}}), "InvalidInput", f"{model}: Evaluate with wrong sizes")
    else:
        error_of(post("Evaluate"), "UnsupportedFeature", f"{model}: Evaluate unsupported")

    if support.get("Gradient"):
        args = {"name": model, "input": good, "config": {}, "outWrt": 0, "inWrt": 0, "sens": [0] * outs[0]}
        r = post("Gradient", args)
        check(r.status_code == 200 and set(r.json()) == {"output"} and numbers(r.json()["output"]) and len(r.json()["output"]) == ins[0], f"{model}: Gradient {r.text}")
        error_of(post("Gradient", {**args, "input": bad}), "InvalidInput", f"{model}: Gradient with wrong sizes")
        error_of(post("Gradient", {**args, "inWrt": len(ins)}), "InvalidInput", f"{model}: Gradient with wrong inWrt")
        error_of(post("Gradient", {**args, "outWrt": len(outs)}), "InvalidInput", f"{model}: Gradient with wrong outWrt")
    else:
        error_of(post("Gradient", name), "UnsupportedFeature", f"{model}: Gradient unsupported")

    if support.get("ApplyJacobian"):
        args = {"name": model, "input": good, "config": {}, "outWrt": 0, "inWrt": 0, "vec": [VALUE] * ins[0]}
        r = post("ApplyJacobian", args)
        check(r.status_code == 200 and set(r.json()) == {"output"} and numbers(r.json()["output"]) and len(r.json()["output"]) == outs[0], f"{model}: ApplyJacobian {r.text}")
        error_of(post("ApplyJacobian", {**args, "input": bad}), "InvalidInput", f"{model}: ApplyJacobian with wrong sizes")
    else:
        error_of(post("ApplyJacobian", name), "UnsupportedFeature", f"{model}: ApplyJacobian unsupported")

    if support.get("ApplyHessian"):
        args = {"name": model, "input": good, "config": {}, "outWrt": 0, "inWrt1": 0, "inWrt2": 0, "vec": [0] * ins[0], "sens": [0] * outs[0]}
        r = post("ApplyHessian", args)
        check(r.status_code == 200 and set(r.json()) == {"output"} and numbers(r.json()["output"]) and len(r.json()["output"]) == ins[0], f"{model}: ApplyHessian {r.text}")
        error_of(post("ApplyHessian", {**args, "input": bad, "vec": [VALUE] * ins[0]}), "InvalidInput", f"{model}: ApplyHessian with wrong sizes")
    else:
        error_of(post("ApplyHessian", name), "UnsupportedFeature", f"{model}: ApplyHessian unsupported")

print(f"CONFORMS {checks} checks")
