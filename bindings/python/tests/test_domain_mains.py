"""The Fortran and C++ physics models served by small programs of their own through
libdemos_maas.so (deploy/domain-models/serve_*.{f90,cpp}), called through the Python binding over
TCP and a Unix socket: the results equal the plugin compiled from the same source and called
directly with ctypes, to 1e-12 relative."""
import ctypes
import os
import shutil
import subprocess

import numpy as np
import pytest

from demos_maas import Client

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
MODELS = os.path.join(ROOT, "deploy", "domain-models")
NAMES = ["log_density", "gradient", "gradient_theta", "evaluate", "vjp", "jvp", "sampler"]
DP = ctypes.POINTER(ctypes.c_double)


def require(tool):
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing on CI: scripts/install-test-deps.sh installs it")
        pytest.skip(f"{tool} is not installed")


def library_dir():
    return os.path.dirname(os.path.abspath(os.environ["DEMOS_MAAS_LIBRARY"]))


def plugin_evaluate(library, x, theta, outputs):
    class Callbacks(ctypes.Structure):
        _fields_ = [("user_data", ctypes.c_void_p)] + [(n, ctypes.c_void_p) for n in NAMES]

    callbacks = Callbacks()
    assert ctypes.CDLL(library).maas_plugin_callbacks(ctypes.byref(callbacks)) == 0
    fn = ctypes.CFUNCTYPE(ctypes.c_int, DP, ctypes.c_int64, ctypes.c_int64, DP, ctypes.c_int64, DP, ctypes.c_void_p)(callbacks.evaluate)
    x = np.ascontiguousarray(x, dtype=np.float64)
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    out = np.empty((x.shape[0], outputs))
    assert fn(x.ctypes.data_as(DP), x.shape[0], x.shape[1], theta.ctypes.data_as(DP), theta.size, out.ctypes.data_as(DP), None) == 0
    return out


def serve_and_compare(program, plugin, model_name, x, theta, outputs, tmp_path):
    sock = os.path.join(str(tmp_path), "m.sock")
    process = subprocess.Popen([program, "tcp://127.0.0.1:0", f"pipe://{sock}"], stdout=subprocess.PIPE, text=True)
    try:
        uris = [process.stdout.readline().split()[1] for _ in range(2)]
        native = plugin_evaluate(plugin, x, theta, outputs)
        for uri in uris:
            with Client(uri) as client:
                served = np.asarray(client.model(model_name).evaluate(x, theta=theta))
            np.testing.assert_allclose(served, native, rtol=1e-12, atol=0)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_fortran_main_serves_the_structure_factor(tmp_path):
    require("gfortran")
    build, lib = str(tmp_path), library_dir()
    source = os.path.join(MODELS, "structure_factor.f90")
    subprocess.run(["gfortran", "-O2", "-J", build, "-c", os.path.join(ROOT, "bindings", "fortran", "src", "demos_maas.f90"),
                    "-o", os.path.join(build, "demos_maas.o")], check=True)
    program = os.path.join(build, "serve_structure_factor")
    subprocess.run(["gfortran", "-O2", "-J", build, "-I", build, source, os.path.join(MODELS, "serve_structure_factor.f90"),
                    os.path.join(build, "demos_maas.o"), "-L", lib, "-ldemos_maas", f"-Wl,-rpath,{lib}", "-o", program], check=True)
    plugin = os.path.join(build, "libstructure_factor.so")
    subprocess.run(["gfortran", "-O2", "-shared", "-fPIC", "-J", os.path.join(build), "-o", plugin, source], check=True)
    k = np.linspace(0.0, 25.0, 251).reshape(-1, 1)
    serve_and_compare(program, plugin, "structure-factor", k, [0.42, 5.0], 2, tmp_path)


def test_a_cpp_main_serves_the_nuclear_force(tmp_path):
    require("g++")
    build, lib = str(tmp_path), library_dir()
    source = os.path.join(MODELS, "nuclear_force.cpp")
    include = os.path.join(ROOT, "bindings", "c")
    program = os.path.join(build, "serve_nuclear_force")
    subprocess.run(["g++", "-O2", "-std=c++17", "-I", include, source, os.path.join(MODELS, "serve_nuclear_force.cpp"),
                    "-L", lib, "-ldemos_maas", f"-Wl,-rpath,{lib}", "-o", program], check=True)
    plugin = os.path.join(build, "libnuclear_force.so")
    subprocess.run(["g++", "-O2", "-std=c++17", "-shared", "-fPIC", "-I", include, "-o", plugin, source], check=True)
    t = np.linspace(0.0, 1.0, 200)
    x = np.column_stack([0.05 + 3 * t, 3.05 - 3 * t])
    serve_and_compare(program, plugin, "nuclear-force", x, [1438.72, 3.11, 626.885, 1.55], 1, tmp_path)
