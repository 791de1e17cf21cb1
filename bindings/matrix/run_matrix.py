#!/usr/bin/env python3
"""Cross-language matrix: each pair is a real client process against a real server process, over pipe
and tcp; the client's results must equal the model evaluated natively in the server's language to
1e-12 relative.  Prints one line per check and ends with "matrix: N passed, M failed".

    python3 run_matrix.py --bindings DIR --cpp-build DIR --fortran-build DIR --dotnet-client DLL --maas-cli DLL
"""
import argparse
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--bindings", required=True)
parser.add_argument("--library", required=True, help="libdemos_maas.so")
parser.add_argument("--cpp-build", required=True)
parser.add_argument("--fortran-build", required=True)
parser.add_argument("--dotnet-client", required=True, help="maas-matrix-client.dll")
parser.add_argument("--maas-cli", required=True, help="maas.dll")
parser.add_argument("--templates-build", help="build and serve every template from this directory")
args = parser.parse_args()

env = dict(os.environ, DEMOS_MAAS_LIBRARY=args.library, PYTHONPATH=os.path.join(args.bindings, "python"))
python = "/usr/bin/python3"
work = tempfile.mkdtemp(prefix="maas-matrix-")
passed = failed = 0


def report(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {what}")
    else:
        failed += 1
        print(f"  FAIL  {what} {detail}")


def write_points(path, n=200, d=2, seed=20261125):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write(f"{n} {d}\n")
        for _ in range(n):
            f.write(" ".join(repr(rng.gauss(0.0, 2.0)) for _ in range(d)) + "\n")


def run(command, timeout=120):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    return [float(line) for line in result.stdout.split()]


def start_server(command, wanted=2, timeout=60):
    """Starts a server process and waits until it prints the URIs it listens on."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in process.stdout], daemon=True).start()
    uris, deadline = [], time.time() + timeout
    while len(uris) < wanted and time.time() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.startswith("listening"):
            uris.extend(line.split()[1:])
    if len(uris) < wanted:
        process.kill()
        raise RuntimeError(f"server {' '.join(command)} did not start: {process.stderr.read()[-2000:]}")
    return process, uris


def close_enough(actual, expected):
    if len(actual) != len(expected):
        return False, f"{len(actual)} values, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        if abs(a - e) > 1e-12 * max(abs(a), abs(e)) + 1e-300:
            return False, f"value {i}: {a!r} != {e!r}"
    return True, ""


def pair(name, server_command, model, client_command, reference):
    points = os.path.join(work, f"{name.replace(' ', '_')}.points")
    write_points(points)
    print(f"{name}")
    try:
        expected = reference(points)
    except Exception as error:  # noqa: BLE001
        report(False, f"{name}: native reference", str(error))
        return
    pipe = f"pipe://{work}/{abs(hash(name))}.sock"
    try:
        process, uris = start_server(server_command(pipe, "tcp://127.0.0.1:0"))
    except Exception as error:  # noqa: BLE001
        report(False, f"{name}: server start", str(error))
        return
    try:
        for uri in uris:
            transport = uri.split(":")[0]
            try:
                ok, detail = close_enough(run(client_command + [uri, model, points]), expected)
            except Exception as error:  # noqa: BLE001
                ok, detail = False, str(error)
            report(ok, f"{name} over {transport} ({len(expected)} points, 1e-12 relative)", detail)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def python_reference(points):
    sys.path[:0] = [os.path.join(args.bindings, "python"), os.path.join(args.bindings, "python", "examples")]
    os.environ["DEMOS_MAAS_LIBRARY"] = args.library
    import numpy as np
    from ten_line_server import log_density  # the served function itself, evaluated natively
    with open(points) as f:
        n, d = (int(v) for v in f.readline().split())
        x = np.array(f.read().split(), dtype=float).reshape(n, d)
    return list(log_density(x, np.array([0.5, 1.5])))


ten_line = os.path.join(args.bindings, "python", "examples", "ten_line_server.py")
dotnet_client = ["dotnet", args.dotnet_client, "client"]
fortran_server = os.path.join(args.fortran_build, "fortran_matrix_server")
cpp_server = os.path.join(args.cpp_build, "cpp_matrix_server")

pair("C# client -> Python-served model", lambda *uris: [python, ten_line, *uris], "pynormal", dotnet_client, python_reference)
pair("Python client -> Fortran-served model", lambda *uris: [fortran_server, "serve", *uris], "ring",
     [python, os.path.join(args.bindings, "python", "examples", "matrix_client.py")],
     lambda p: run([fortran_server, "reference", p]))
pair("C++ client -> C#-served model",
     lambda pipe, tcp: ["dotnet", args.maas_cli, "serve", "--model", "gaussian2d", "--log-level", "Warning", "--listen", pipe, "--listen", tcp],
     "gaussian2d", [os.path.join(args.cpp_build, "cpp_matrix_client")],
     lambda p: run(["dotnet", args.dotnet_client, "reference", "gaussian2d", p]))
pair("Fortran client -> C++-served model", lambda *uris: [cpp_server, "serve", *uris], "cppbanana",
     [os.path.join(args.fortran_build, "fortran_matrix_client")], lambda p: run([cpp_server, "reference", p]))
pair("C# client -> Fortran-served legacy model", lambda *uris: [fortran_server, "serve", *uris], "ring", dotnet_client,
     lambda p: run([fortran_server, "reference", p]))



def errors_across_processes():
    """Bad input from a Python client process to C++- and Fortran-served models in other processes."""
    print("errors across processes (Python client -> C++ and Fortran servers)")
    sys.path.insert(0, os.path.join(args.bindings, "python"))
    os.environ["DEMOS_MAAS_LIBRARY"] = args.library
    import demos_maas
    servers = []
    try:
        cpp, cpp_uris = start_server([cpp_server, "serve", "tcp://127.0.0.1:0"], wanted=1)
        servers.append(cpp)
        fortran, fortran_uris = start_server([fortran_server, "serve", f"pipe://{work}/errors.sock"], wanted=1)
        servers.append(fortran)

        def expect(status, call, what, text=""):
            try:
                call()
                report(False, what, "no error")
            except demos_maas.MaasError as error:
                report(error.status == status and text in error.message, what, f"{error.status}: {error.message}")

        client = demos_maas.Client(cpp_uris[0], timeout=30)
        throws = client.model("cppthrows")
        expect("ModelError", lambda: throws.log_density([[-1.0]]), "C++ exception in the served model -> ModelError with its message",
               "C++ model rejects negative x")
        report(float(throws.log_density([[2.0]])[0]) == 2.0, "C++ server keeps serving after the exception")
        expect("InvalidArgument", lambda: client.model("cppbanana").log_density([[1.0, 2.0, 3.0]]), "wrong point size -> InvalidArgument")
        expect("NotFound", lambda: client.model("nope"), "unknown model -> NotFound")
        client.close()
        expect("InvalidArgument", lambda: throws.log_density([[1.0]]), "closed client -> InvalidArgument")

        ring = demos_maas.Client(fortran_uris[0], timeout=30)
        expect("ModelError", lambda: ring.model("ring").log_density([[float("nan"), 0.0]]),
               "Fortran callback error -> ModelError with its message", "ring: x is not a number")
        report(len(ring.model("ring").log_density([[1.0, 1.0]])) == 1, "Fortran server keeps serving after the error")
        ring.close()
    except Exception as error:  # noqa: BLE001
        report(False, "errors across processes", str(error))
    finally:
        for process in servers:
            process.terminate()
            process.wait(15)


errors_across_processes()


def template(language, build_commands, server_command):
    """Builds a template as is, serves it, and calls its my_model from the Python client."""
    print(f"template {language}")
    for command in build_commands:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            report(False, f"template {language}: build", (result.stdout + result.stderr)[-2000:])
            return
    try:
        process, uris = start_server(server_command + ["tcp://127.0.0.1:0"], wanted=1)
    except Exception as error:  # noqa: BLE001
        report(False, f"template {language}: serve", str(error))
        return
    try:
        sys.path.insert(0, os.path.join(args.bindings, "python"))
        os.environ["DEMOS_MAAS_LIBRARY"] = args.library
        import math
        import demos_maas
        with demos_maas.Client(uris[0], timeout=30) as client:
            value = float(client.model("my_model").log_density([[0.5, -1.0]])[0])
        expected = -0.5 * (0.25 + 1.0) - math.log(2 * math.pi)
        report(abs(value - expected) <= 1e-12 * abs(expected), f"template {language} builds, serves and answers", f"{value} != {expected}")
    except Exception as error:  # noqa: BLE001
        report(False, f"template {language}: call", str(error))
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def seed_example():
    """The seed's C++ example (cpp/examples/seed_example.cpp) runs as written and serves my_model."""
    print("seed example")
    import math
    sys.path.insert(0, os.path.join(args.bindings, "python"))
    os.environ["DEMOS_MAAS_LIBRARY"] = args.library
    import demos_maas
    uri = f"pipe://{work}/seed.sock"
    process = subprocess.Popen([os.path.join(args.cpp_build, "seed_example")], env=dict(env, DEMOS_MAAS_LISTEN=uri),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        client, deadline = None, time.time() + 30
        while client is None and time.time() < deadline and process.poll() is None:
            try:
                client = demos_maas.Client(uri, connect_timeout=1)
            except demos_maas.MaasError:
                time.sleep(0.1)
        if client is None:
            report(False, "seed example serves", process.stderr.read() if process.poll() is not None else "no connection")
            return
        with client:
            model = client.model("my_model")
            value = float(model.log_density([[0.5, -1.0]])[0])
            expected = -0.5 * (0.25 + 1.0) - math.log(2 * math.pi)
            report(abs(value - expected) <= 1e-12 * abs(expected), "seed example serves my_model's density", f"{value} != {expected}")
            a, b = model.sample(100, seed=5), model.sample(100, seed=5)
            report(len(a) == 100 and (a == b).all(), "seed example's sampler is reproducible")
    finally:
        process.terminate()
        process.wait(15)


seed_example()

if args.templates_build:
    out = args.templates_build
    root = args.bindings
    library_dir = os.path.dirname(args.library)
    for language in ("c", "cpp"):
        template(language, [["cmake", "-S", f"{root}/{language}/template", "-B", f"{out}/{language}", f"-DDEMOS_MAAS_ROOT={root}",
                             f"-DDEMOS_MAAS_LIBRARY_DIR={library_dir}"], ["cmake", "--build", f"{out}/{language}"]],
                 [f"{out}/{language}/my_model"])
    template("fortran", [["make", "-s", "-C", f"{root}/fortran/template", f"DEMOS_MAAS_ROOT={root}", f"LIBDIR={library_dir}",
                          f"BUILD={out}/fortran"]], [f"{out}/fortran/my_model"])
    template("python", [], [f"{root}/python/template/serve.sh"])

shutil.rmtree(work, ignore_errors=True)
print(f"matrix: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
