"""shm:// through the native library: a Python-served model and a Python client over shared-memory
rings, and a `maas serve --listen shm://...` process called from Python and then killed while idle
(the next call is Unavailable, not a hang)."""
import os
import signal
import subprocess
import time

import numpy as np
import pytest

import demos_maas as dm
from test_registry import maas_tool


def normal_logp(x, theta):
    z = (x - theta[:2]) / theta[2:]
    return -0.5 * (z * z).sum(axis=1) - np.log(theta[2:]).sum() - np.log(2 * np.pi)


def test_a_python_server_and_client_over_shm(tmp_path):
    s = dm.Server(log_level="error")
    s.register_density("pynormal", normal_logp, dim=2, parameters={"mu": [0.0, 0.0], "sigma": [1.0, 1.0]})
    uri = s.listen(f"shm://{tmp_path}/py-shm.sock")
    try:
        assert uri.startswith("shm://")
        with dm.Client(uri, timeout=30) as c:
            m = c.model("pynormal")
            # 200,000 points: 3.2 MB each way, larger than a connection's 1 MiB rings.
            x = np.random.default_rng(7).normal(size=(200_000, 2))
            np.testing.assert_allclose(m.log_density(x), normal_logp(x, np.array([0, 0, 1, 1.0])), rtol=1e-12)
            assert m.log_density([[0.0, 0.0]]).shape == (1,)
    finally:
        s.close()


def test_a_maas_serve_process_over_shm_and_its_death(tmp_path):
    tool = maas_tool()
    sock = tmp_path / "served.sock"
    pipe = tmp_path / "served-pipe.sock"
    server = subprocess.Popen(tool + ["serve", "--listen", f"shm://{sock}", "--listen", f"pipe://{pipe}",
                                      "--model", "gaussian1d", "--log-level", "Warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(3000):
            if sock.exists() and pipe.exists():
                break
            assert server.poll() is None, server.stderr.read().decode()
            time.sleep(0.02)
        x = np.linspace(-3, 3, 5001).reshape(-1, 1)
        with dm.Client(f"pipe://{pipe}", timeout=30) as c:
            want = c.model("gaussian1d").log_density(x)
        with dm.Client(f"shm://{sock}", timeout=30) as c:
            m = c.model("gaussian1d")
            np.testing.assert_array_equal(m.log_density(x), want)

            server.send_signal(signal.SIGKILL)
            server.wait(timeout=60)
            with pytest.raises(dm.Unavailable):
                m.log_density(x)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_no_shm_server_is_unavailable_and_a_bad_name_is_invalid(tmp_path):
    with pytest.raises(dm.Unavailable, match="is the server running"):
        dm.Client(f"shm://{tmp_path}/nobody.sock", timeout=5)
    with pytest.raises(dm.InvalidArgument, match="shm://"):
        dm.Client("shm://a/b/c", timeout=5)
