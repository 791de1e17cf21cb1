"""A small UM-Bridge 1.0 server on Python's standard http.server, for testing our UM-Bridge client.

Prints "PORT <n>" once listening on 127.0.0.1 (port 0 = a free one). Models:
  forward  - inputs [2, 1], outputs [2]: f(a, b) = [a0 * b0, a1 + b0^2]; Evaluate, Gradient,
             ApplyJacobian, ApplyHessian; config {"scale": s} multiplies the outputs.
  evalonly - inputs [1], outputs [1]: f(a) = [2 a0]; Evaluate only.
  broken   - inputs [1], outputs [2], but returns one value (InvalidOutput).
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def forward(inp, config):
    (a0, a1), (b0,) = inp
    s = config.get("scale", 1.0)
    return [[s * a0 * b0, s * (a1 + b0 * b0)]]


def jacobian(inp, config):
    # J[out][in-flat]: inputs flattened as (a0, a1, b0)
    (a0, a1), (b0,) = inp
    s = config.get("scale", 1.0)
    return [[s * b0, 0.0, s * a0], [0.0, s, s * 2 * b0]]


MODELS = {
    "forward": {"in": [2, 1], "out": [2], "support": {"Evaluate": True, "Gradient": True, "ApplyJacobian": True, "ApplyHessian": True}},
    "evalonly": {"in": [1], "out": [1], "support": {"Evaluate": True, "Gradient": False, "ApplyJacobian": False, "ApplyHessian": False}},
    "broken": {"in": [1], "out": [2], "support": {"Evaluate": True, "Gradient": False, "ApplyJacobian": False, "ApplyHessian": False}},
    "quartic": {"in": [1], "out": [1], "support": {"Evaluate": True, "Gradient": True, "ApplyJacobian": False, "ApplyHessian": True}},
}

OFFSETS = [0, 2]  # where each input block of "forward" starts in the flat input


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, kind, message):
        self.reply(status, {"error": {"type": kind, "message": message}})

    def do_GET(self):
        if self.path == "/Info":
            self.reply(200, {"protocolVersion": 1.0, "models": list(MODELS)})
        else:
            self.reply(404, {"error": {"type": "NotFound", "message": self.path}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError as e:
            return self.error(400, "InvalidInput", f"bad JSON: {e}")
        name = body.get("name")
        if name not in MODELS:
            return self.error(400, "ModelNotFound", f"Model name {name} not found")
        model = MODELS[name]
        config = body.get("config", {})
        route = self.path.lstrip("/")
        if "fail" in config:
            kind = config["fail"]
            return self.error(500 if kind == "InvalidOutput" else 400, kind, "failure requested by the config")
        if route == "ModelInfo":
            return self.reply(200, {"support": model["support"]})
        if route == "InputSizes":
            return self.reply(200, {"inputSizes": model["in"]})
        if route == "OutputSizes":
            return self.reply(200, {"outputSizes": model["out"]})
        if route not in model["support"] or not model["support"][route]:
            return self.error(400, "UnsupportedFeature", f"{route} not supported by model!")
        inp = body.get("input")
        if not isinstance(inp, list) or len(inp) != len(model["in"]) or any(len(v) != n for v, n in zip(inp, model["in"])):
            return self.error(400, "InvalidInput", "Input parameter has invalid length!")
        if name == "broken":
            return self.reply(200, {"output": [[1.0]]})
        if name == "evalonly":
            return self.reply(200, {"output": [[2 * inp[0][0]]]})
        if name == "quartic":
            # f(a) = a^4: the exact Hessian action 12 a^2 sens vec, which finite differences of the
            # gradient only approximate; a bridge must forward ApplyHessian, not differentiate.
            a = inp[0][0]
            if route == "Evaluate":
                return self.reply(200, {"output": [[a ** 4]]})
            if route == "Gradient":
                return self.reply(200, {"output": [4 * a ** 3 * body["sens"][0]]})
            return self.reply(200, {"output": [12 * a * a * body["sens"][0] * body["vec"][0]]})
        if route == "Evaluate":
            return self.reply(200, {"output": forward(inp, config)})
        J = jacobian(inp, config)
        in_wrt = body.get("inWrt", body.get("inWrt1"))
        if body.get("outWrt") != 0 or in_wrt not in (0, 1):
            return self.error(400, "InvalidInput", "Invalid outWrt or inWrt index!")
        cols = range(OFFSETS[in_wrt], OFFSETS[in_wrt] + model["in"][in_wrt])
        if route == "Gradient":
            sens = body["sens"]
            if len(sens) != 2:
                return self.error(400, "InvalidInput", "Sensitivity vector sens has invalid length!")
            return self.reply(200, {"output": [sum(J[k][c] * sens[k] for k in range(2)) for c in cols]})
        if route == "ApplyJacobian":
            vec = body["vec"]
            if len(vec) != len(cols):
                return self.error(400, "InvalidInput", "Vector vec has invalid length!")
            return self.reply(200, {"output": [sum(J[k][c] * vec[i] for i, c in enumerate(cols)) for k in range(2)]})
        if route == "ApplyHessian":
            # Hessian of sens . f w.r.t. (inWrt1, inWrt2), applied to vec. Nonzero second derivatives of
            # f: d2 f0 / da0 db0 = s, d2 f1 / db0^2 = 2 s.
            s = config.get("scale", 1.0)
            sens, vec = body["sens"], body["vec"]
            H = [[0.0, 0.0, sens[0] * s], [0.0, 0.0, 0.0], [sens[0] * s, 0.0, sens[1] * 2 * s]]
            in2 = body["inWrt2"]
            rows = cols
            cols2 = range(OFFSETS[in2], OFFSETS[in2] + model["in"][in2])
            return self.reply(200, {"output": [sum(H[r][c] * vec[i] for i, c in enumerate(cols2)) for r in rows]})
        return self.error(400, "UnsupportedFeature", route)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
