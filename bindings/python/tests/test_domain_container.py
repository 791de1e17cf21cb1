"""The Fortran structure-factor model in a container: compiled here with gfortran, put with the
NativeAOT maas into an image built FROM scratch, run with podman on the host network, and called
through the Python binding; the results equal the plugin's own (loaded here with ctypes) to 1e-12."""
import ctypes
import os
import shutil
import socket
import subprocess
import time
import uuid

import numpy as np
import pytest

from demos_maas import Client

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def require(condition, message):
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (needed on CI)")
        pytest.skip(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_with_libraries(path, rootfs, target):
    """Copies a file into the root file system with every library ldd lists for it."""
    os.makedirs(os.path.dirname(rootfs + target), exist_ok=True)
    shutil.copy(path, rootfs + target)
    for word in subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout.split():
        if word.startswith("/") and os.path.exists(word):
            os.makedirs(os.path.dirname(rootfs + word), exist_ok=True)
            shutil.copy(os.path.realpath(word), rootfs + word)


def native_evaluate(library, x, theta):
    """Calls the plugin's evaluate callback directly: the native result."""
    lib = ctypes.CDLL(library)
    names = ["log_density", "gradient", "gradient_theta", "evaluate", "vjp", "jvp", "sampler"]

    class Callbacks(ctypes.Structure):
        _fields_ = [("user_data", ctypes.c_void_p)] + [(n, ctypes.c_void_p) for n in names]

    callbacks = Callbacks()
    assert lib.maas_plugin_callbacks(ctypes.byref(callbacks)) == 0
    dp = ctypes.POINTER(ctypes.c_double)
    evaluate = ctypes.CFUNCTYPE(ctypes.c_int, dp, ctypes.c_int64, ctypes.c_int64, dp, ctypes.c_int64, dp, ctypes.c_void_p)(callbacks.evaluate)
    x = np.ascontiguousarray(x, dtype=np.float64)
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    out = np.empty((x.shape[0], 2))
    assert evaluate(x.ctypes.data_as(dp), x.shape[0], x.shape[1], theta.ctypes.data_as(dp), theta.size, out.ctypes.data_as(dp), None) == 0
    return out


def test_the_fortran_model_in_a_scratch_container_answers_the_python_binding(tmp_path):
    require(shutil.which("podman") is not None, "podman is not installed")
    require(shutil.which("gfortran") is not None, "gfortran is not installed")
    binary = os.environ.get("MAAS_AOT_BINARY", "")
    require(os.path.isfile(binary), "MAAS_AOT_BINARY (the NativeAOT maas that run-tests.sh publishes) is not set")

    work = str(tmp_path)
    library = os.path.join(work, "libstructure_factor.so")
    subprocess.run(["gfortran", "-O2", "-shared", "-fPIC", "-J", work, "-o", library,
                    os.path.join(ROOT, "deploy", "domain-models", "structure_factor.f90")], check=True)
    rootfs = os.path.join(work, "rootfs")
    subprocess.run(["bash", os.path.join(ROOT, "deploy", "collect-rootfs.sh"), binary, rootfs], check=True)
    copy_with_libraries(library, rootfs, "/models/libstructure_factor.so")
    with open(os.path.join(work, "Containerfile"), "w") as f:
        f.write('FROM scratch\nCOPY rootfs/ /\nUSER 65532:65532\n'
                'ENTRYPOINT ["/usr/local/bin/maas", "serve", "--native", "/models/libstructure_factor.so"]\n')
    conf = os.path.join(work, "containers.conf")
    with open(conf, "w") as f:
        f.write('[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n')
    env = dict(os.environ, CONTAINERS_CONF=conf)
    tag = uuid.uuid4().hex[:12]
    image, name = f"localhost/maas-structure-factor-test:{tag}", f"maas-sf-test-{tag}"
    port = free_port()

    def podman(*args, check=True):
        return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, check=check, timeout=300)

    try:
        podman("build", "-t", image, work)
        podman("run", "-d", "--name", name, "--network", "host", image, "--listen", f"tcp://127.0.0.1:{port}")
        client, deadline = None, time.monotonic() + 60
        while client is None:
            try:
                client = Client(f"tcp://127.0.0.1:{port}")
            except Exception:
                if time.monotonic() > deadline:
                    raise AssertionError("the container never answered:\n" + podman("logs", name, check=False).stdout)
                time.sleep(0.2)
        with client:
            model = client.model("structure-factor")
            k = np.linspace(0.0, 30.0, 301).reshape(-1, 1)
            for theta in ([0.3, 1.0], [0.49, 10.0]):
                served = np.asarray(model.evaluate(k, theta=theta))
                native = native_evaluate(library, k, theta)
                np.testing.assert_allclose(served, native, rtol=1e-12, atol=0)
            s0 = (1 - 0.49) ** 4 / (1 + 2 * 0.49) ** 2  # the PY compressibility limit, through the container
            assert abs(served[0, 0] - s0) < 1e-14
    finally:
        podman("rm", "-f", name, check=False)
        podman("rmi", "-f", image, check=False)
