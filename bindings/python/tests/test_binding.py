"""The Python binding end to end: a Python-served model and a Python client in one process, over
tcp and pipe, plus every bad-input path across the boundary."""
import ctypes
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import demos_maas as dm
from demos_maas._native import lib

HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def normal_logp(x, theta):
    d = x.shape[1]
    mu, sigma = theta[:d], theta[d:]
    z = (x - mu) / sigma
    return -0.5 * (z * z).sum(axis=1) - np.log(sigma).sum() - d * HALF_LOG_2PI


def normal_grad(x, theta):
    d = x.shape[1]
    return -(x - theta[:d]) / theta[d:] ** 2


def sampler(n, seed, theta):
    rng = np.random.default_rng(seed)
    return theta[:2] + theta[2:] * rng.standard_normal((n, 2))


def failing(x, theta):
    if np.any(x > 1e300):
        raise ValueError("x is out of this model's range")
    return normal_logp(x, theta)


A = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])  # evaluate: y = A x (3 outputs)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = dm.Server(log_level="error")
    s.register_density("pynormal", normal_logp, dim=2, gradient=normal_grad, sampler=sampler,
                       parameters={"mu": [0.0, 0.0], "sigma": [1.0, 1.0]},
                       datasets={"grid": np.arange(12.0).reshape(6, 2)})
    s.register_function("linear", lambda x, th: x @ A.T, input_dim=2, output_dim=3,
                        vjp=lambda x, v, th: v @ A, jvp=lambda x, v, th: v @ A.T)
    s.register_density("failing", failing, dim=2, parameters={"mu": [0.0, 0.0], "sigma": [1.0, 1.0]})
    s.register_density("badshape", lambda x, th: np.zeros(x.shape[0] + 1), dim=2)
    s.register_density("serial", normal_logp, dim=2, parameters={"mu": [0.0, 0.0], "sigma": [1.0, 1.0]}, serial=True)
    tcp = s.listen("tcp://127.0.0.1:0")
    pipe = s.listen(f"pipe://{tmp_path_factory.mktemp('sock')}/py.sock")
    yield {"tcp": tcp, "pipe": pipe}
    s.close()


@pytest.fixture(params=["tcp", "pipe"])
def client(request, server):
    with dm.Client(server[request.param], timeout=30) as c:
        yield c


def test_version():
    assert dm.version().count(".") == 2


def test_log_density_equals_native(client):
    m = client.model("pynormal")
    x = np.random.default_rng(1).normal(size=(50, 2))
    np.testing.assert_allclose(m.log_density(x), normal_logp(x, np.array([0, 0, 1, 1.0])), rtol=1e-12)
    assert m(x).shape == (50,)


def test_log_density_of_100000_points_is_one_call(client):
    m = client.model("pynormal")
    x = np.random.default_rng(2).normal(size=(100_000, 2))
    result = m.log_density(x)
    assert result.shape == (100_000,)
    np.testing.assert_allclose(result, normal_logp(x, np.array([0, 0, 1, 1.0])), rtol=1e-12)


def test_explicit_theta(client):
    m = client.model("pynormal")
    theta = np.array([1.0, -1.0, 2.0, 0.5])
    x = np.ones((4, 2))
    np.testing.assert_allclose(m.log_density(x, theta), normal_logp(x, theta), rtol=1e-12)


def test_single_point_and_lists(client):
    m = client.model("pynormal")
    assert m.log_density([0.0, 0.0])[0] == pytest.approx(-2 * HALF_LOG_2PI, rel=1e-12)


def test_gradient(client):
    m = client.model("pynormal")
    x = np.random.default_rng(3).normal(size=(7, 2))
    np.testing.assert_allclose(m.gradient(x), normal_grad(x, np.array([0, 0, 1, 1.0])), rtol=1e-12)


def test_evaluate_vjp_jvp(client):
    m = client.model("linear")
    x = np.random.default_rng(4).normal(size=(5, 2))
    np.testing.assert_allclose(m.evaluate(x), x @ A.T, rtol=1e-12)
    v = np.ones((5, 3))
    np.testing.assert_allclose(m.gradient(x, kind="vjp", vector=v), v @ A, rtol=1e-12)
    w = np.ones((5, 2))
    np.testing.assert_allclose(m.gradient(x, kind="jvp", vector=w), w @ A.T, rtol=1e-12)
    assert m(x).shape == (5, 3)


def test_sample_reproducible_and_chunked(client):
    m = client.model("pynormal")
    a, b = m.sample(1000, seed=5), m.sample(1000, seed=5)
    assert a.shape == (1000, 2) and np.array_equal(a, b)
    assert not np.array_equal(a, m.sample(1000, seed=6))
    chunks = m.sample_chunks(1000, seed=5, chunk_rows=100)
    assert len(chunks) == 10 and sum(c.shape[0] for c in chunks) == 1000
    assert np.array_equal(np.vstack(chunks), np.vstack(m.sample_chunks(1000, seed=5, chunk_rows=100)))


def test_data(client):
    m = client.model("pynormal")
    np.testing.assert_array_equal(m.data("grid"), np.arange(12.0).reshape(6, 2))
    np.testing.assert_array_equal(m.data("grid", offset=2, count=2), np.arange(4.0, 8.0).reshape(2, 2))
    with pytest.raises(dm.MaasError) as error:
        m.data("nope")
    assert error.value.status == "NotFound"


def test_parameters(client):
    m = client.model("serial")
    assert set(m.parameters) == {"mu", "sigma"}
    new = m.update_parameters(mu=[0.5, 0.25])
    np.testing.assert_array_equal(new["mu"], [0.5, 0.25])
    x = np.zeros((2, 2))
    np.testing.assert_allclose(m.log_density(x), normal_logp(x, np.array([0.5, 0.25, 1, 1])), rtol=1e-12)
    m.update_parameters({"mu": np.zeros(2)}, update_id="reset-1")
    with pytest.raises(dm.MaasError) as error:
        m.update_parameters(nope=[1.0])
    assert error.value.code == 1


def test_list_models(client):
    names = {m["name"] for m in client.models()}
    assert {"pynormal", "linear", "failing", "serial"} <= names


def test_callback_exception_becomes_model_error_and_server_survives(client):
    m = client.model("failing")
    with pytest.raises(dm.MaasError) as error:
        m.log_density(np.array([[1e308, 0.0]]))
    assert error.value.status == "ModelError"
    assert "x is out of this model's range" in str(error.value)
    assert m.log_density(np.zeros((1, 2))).shape == (1,)


def test_callback_wrong_result_size_is_model_error(client):
    with pytest.raises(dm.MaasError) as error:
        client.model("badshape").log_density(np.zeros((3, 2)))
    assert error.value.status == "ModelError" and "expected 3" in str(error.value)


def test_wrong_dimension(client):
    with pytest.raises(dm.MaasError) as error:
        client.model("pynormal").log_density(np.zeros((4, 3)))
    assert error.value.status == "InvalidArgument"


def test_unknown_model_and_capability(client):
    with pytest.raises(dm.MaasError) as error:
        client.model("nope")
    assert error.value.status == "NotFound"
    with pytest.raises(dm.MaasError) as error:
        client.model("linear").sample(3)
    assert error.value.status == "Unsupported"


def test_concurrent_calls_from_threads(client):
    m = client.model("pynormal")
    x = np.random.default_rng(7).normal(size=(200, 2))
    expected = normal_logp(x, np.array([0, 0, 1, 1.0]))
    errors = []

    def work():
        try:
            for _ in range(20):
                np.testing.assert_allclose(m.log_density(x), expected, rtol=1e-12)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors


def test_closed_client(server):
    c = dm.Client(server["tcp"])
    m = c.model("pynormal")
    handle = c.handle
    c.close()
    c.close()  # harmless
    with pytest.raises(dm.InvalidArgument) as error:
        m.log_density(np.zeros((1, 2)))
    assert error.value.status == "InvalidArgument"
    with pytest.raises(dm.InvalidArgument, match="closed"):
        lib.maas_client_close(handle)


def test_null_and_forged_handles():
    with pytest.raises(dm.InvalidArgument, match="NULL"):
        lib.maas_client_close(None)
    with pytest.raises(dm.InvalidArgument):
        lib.maas_client_close(ctypes.c_void_p(0xDEAD0))
    with pytest.raises(dm.InvalidArgument):
        lib.maas_server_start(ctypes.c_void_p(0xBEEF0))
    out = (ctypes.c_double * 1)()
    with pytest.raises(dm.InvalidArgument):
        lib.maas_log_density(None, b"m", out, 1, 1, None, 0, out, 1, None)


def test_too_small_buffer_reports_needed_size(server):
    with dm.Client(server["tcp"]) as c:
        x = (ctypes.c_double * 4)(0, 0, 1, 1)
        out = (ctypes.c_double * 1)()
        needed = ctypes.c_int64()
        with pytest.raises(dm.InvalidArgument, match="needed"):
            lib.maas_log_density(c.handle, b"pynormal", x, 2, 2, None, 0, out, 1, ctypes.byref(needed))
        assert needed.value == 2


def test_connect_failures(tmp_path):
    with pytest.raises(dm.MaasError) as error:
        dm.Client(f"pipe://{tmp_path}/none.sock", connect_timeout=2)
    assert error.value.status == "Unavailable"
    with pytest.raises(dm.MaasError) as error:
        dm.Client("tcp://127.0.0.1:1/", connect_timeout=2)
    assert error.value.status == "Unavailable"


def test_server_bad_input():
    with pytest.raises(dm.MaasError):
        dm.Server(log_level="loud")
    s = dm.Server()
    s.register_density("m", normal_logp, dim=2)
    with pytest.raises(dm.MaasError) as error:
        s.register_density("m", normal_logp, dim=2)
    assert error.value.status == "InvalidArgument"
    with pytest.raises(dm.MaasError):
        s.start()  # no listen URI
    s.close()
    s.close()  # harmless
    with pytest.raises(dm.InvalidArgument):
        lib.maas_server_free(ctypes.c_void_p(0x10))


def test_library_depends_only_on_libc_and_libm():
    path = lib._name
    output = subprocess.run(["ldd", path], check=True, capture_output=True, text=True).stdout
    names = {line.split()[0] for line in output.splitlines() if line.strip()}
    allowed = ("linux-vdso.so", "libc.so", "libm.so", "ld-linux", "/lib64/ld-linux")
    assert all(n.startswith(allowed) for n in names), output
    assert not any(bad in output for bad in ("icu", "ssl", "crypto", "stdc++", "libz"))
    assert os.path.getsize(path) > 0


NO_NUMPY_SCRIPT = r"""
import sys
sys.modules["numpy"] = None  # numpy absent: the binding falls back to lists
import demos_maas as dm
assert not dm._arrays.HAVE_NUMPY
s = dm.Server(log_level="error")
s.register_density("plain", lambda x, th: [-0.5 * sum(v * v for v in row) for row in x], dim=2,
                   sampler=lambda n, seed, th: [[float(seed % 7), float(i)] for i in range(n)])
uri = s.listen("tcp://127.0.0.1:0")
with dm.Client(uri) as c:
    m = c.model("plain")
    assert m.log_density([[1.0, 2.0], [0.0, 0.0]]) == [-2.5, -0.0], m.log_density([[1.0, 2.0], [0.0, 0.0]])
    assert m.log_density([3.0, 4.0]) == [-12.5]
    assert len(m.sample(3, seed=1)) == 3
s.close()
print("no-numpy ok")
"""


def test_works_without_numpy():
    result = subprocess.run([sys.executable, "-c", NO_NUMPY_SCRIPT], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..")))
    assert result.returncode == 0 and "no-numpy ok" in result.stdout, result.stderr


def test_server_from_config_dict_json_and_file(tmp_path):
    for config in ({"listen": ["tcp://127.0.0.1:0"], "workers": 2, "log_level": "none"},
                   '{"listen": "tcp://127.0.0.1:0", "max_in_flight": 16}'):
        s = dm.Server(config)
        s.register_example("gaussian1d").start()
        with dm.Client(s.endpoints[0]) as c:
            assert c.model("gaussian1d").log_density([0.0]).shape == (1,)
        s.close()
    path = tmp_path / "server.json"
    path.write_text('{"listen": ["tcp://127.0.0.1:0"], "log_level": "error"}')
    s = dm.Server.from_file(str(path))
    s.register_example("gaussian2d").start()
    assert s.endpoints[0].startswith("tcp://127.0.0.1:")
    s.close()
