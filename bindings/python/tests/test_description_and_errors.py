"""The model description from the library's accessors (no JSON), the exception classes per error
code raised by the errcheck of each declared function, and handles released by weakref.finalize."""
import ctypes
import gc
import os
import re
import time

import numpy as np
import pytest

import demos_maas as dm
from demos_maas import _native, errors
from demos_maas._native import lib

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "c", "demos_maas.h")


def logp(x, theta):
    return -0.5 * ((x - theta[:2]) ** 2).sum(axis=1) / theta[2] ** 2


def slow(x, theta):
    time.sleep(2)
    return np.zeros(x.shape[0])


@pytest.fixture(scope="module")
def uri():
    s = dm.Server(log_level="error")
    s.register_density("described", logp, dim=2, gradient=lambda x, th: -(x - th[:2]), version="2.1.0",
                       parameters=[{"name": "mu", "default": [0.0, 0.0]}, {"name": "sigma", "default": 1.0, "lower": 1e-9}],
                       datasets={"grid": np.zeros((3, 2))})
    s.register_function("linear", lambda x, th: x @ np.ones((2, 3)), input_dim=2, output_dim=3,
                        vjp=lambda x, v, th: v @ np.ones((3, 2)), jvp=lambda x, v, th: v @ np.ones((2, 3)))
    s.register_density("slow", slow, dim=1)
    address = s.listen("tcp://127.0.0.1:0")
    yield address
    s.close()


@pytest.fixture
def client(uri):
    with dm.Client(uri, timeout=30) as c:
        yield c


def test_description_comes_from_the_accessors(client):
    m = client.model("described")
    assert (m.name, m.version, m.input_dim, m.output_dim) == ("described", "2.1.0", 2, 0)
    assert m.parameter_names == ["mu", "sigma"] and m.parameter_sizes == [2, 1] and m.parameter_count == 3
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", m.uuid)
    assert m.capabilities == (dm.Capability.LOG_DENSITY | dm.Capability.GRADIENT_X | dm.Capability.DATA
                              | dm.Capability.PARAMETERS)
    assert m.has(dm.Capability.LOG_DENSITY) and not m.has(dm.Capability.SAMPLE | dm.Capability.LOG_DENSITY)
    assert repr(m) == "<demos_maas.Model described 2.1.0 d=2>"


def test_info_document_agrees_with_the_accessors(client):
    m = client.model("described")
    assert (m.info["name"], m.info["uuid"], m.info["input_dim"], m.info["parameter_count"]) == \
        (m.name, m.uuid, m.input_dim, m.parameter_count)
    assert [p["name"] for p in m.info["parameters"]] == m.parameter_names


def test_model_looked_up_by_uuid_has_its_name(client):
    uuid = client.model("linear").uuid
    m = client.model(uuid)
    assert m.name == "linear" and m.output_dim == 3
    assert m.capabilities == dm.Capability.EVALUATE | dm.Capability.EVALUATE_VJP | dm.Capability.EVALUATE_JVP
    assert m(np.ones((4, 2))).shape == (4, 3)  # no LOG_DENSITY: calling the model evaluates it


def test_capability_bits_match_the_header():
    with open(HEADER) as f:
        bits = {name: int(value) for name, value in re.findall(r"MAAS_CAP_(\w+) = (\d+)", f.read())}
    assert bits == {c.name: c.value for c in dm.Capability}


def test_status_names_come_from_the_library():
    assert dm.STATUS_NAMES == {code: lib.maas_status_name(code).decode() for code in range(1, 14)}
    assert dm.status_name(0) == "Ok" and dm.status_name(99) == "Unknown"
    for error in errors.ERRORS:
        assert error.__name__ == dm.status_name(error.code)
        assert issubclass(error, dm.MaasError) and getattr(dm, error.__name__) is error


@pytest.mark.parametrize("error, builtin", [
    (dm.InvalidArgument, ValueError), (dm.NotFound, LookupError), (dm.Unsupported, NotImplementedError),
    (dm.DeadlineExceeded, TimeoutError), (dm.Unavailable, ConnectionError), (dm.Unauthenticated, PermissionError),
    (dm.PermissionDenied, PermissionError)])
def test_each_error_is_also_the_builtin_python_expects(error, builtin):
    assert issubclass(error, builtin) and issubclass(error, dm.MaasError)
    e = error(error.code, "why", error.__name__)
    assert str(e) == f"{error.__name__}: why" and e.message == "why" and e.code == error.code


def test_unknown_code_is_a_plain_maas_error():
    e = errors.error_for(77, "from the future", "Unknown")
    assert type(e) is dm.MaasError and e.code == 77 and str(e) == "Unknown: from the future"


def test_every_status_function_checks_itself_where_it_is_declared():
    declared = [name for name, (restype, _) in _native._SIGNATURES.items() if restype is ctypes.c_int]
    assert len(declared) > 30
    assert all(getattr(lib, name).errcheck is _native.raise_for_status for name in declared)
    assert lib.maas_version.errcheck is not _native.raise_for_status  # returns a string, not a status


def test_calls_raise_the_subclass_of_their_status(client, uri, tmp_path):
    with pytest.raises(LookupError):
        client.model("nope")
    with pytest.raises(NotImplementedError):
        client.model("linear").sample(3)
    with pytest.raises(ValueError):
        client.model("described").log_density(np.zeros((2, 5)))
    with pytest.raises(dm.NotFound):
        client.model("described").data("nope")
    with pytest.raises(ConnectionError) as error:
        dm.Client(f"pipe://{tmp_path}/nobody.sock", connect_timeout=2)
    assert error.value.status == "Unavailable" and error.value.code == 10
    with dm.Client(uri, timeout=0.3) as impatient:
        with pytest.raises(TimeoutError) as error:
            impatient.model("slow").log_density([1.0])
    assert isinstance(error.value, dm.DeadlineExceeded)


def test_accessors_refuse_bad_handles_and_null_outs():
    value = ctypes.c_int64()
    with pytest.raises(dm.InvalidArgument, match="NULL"):
        lib.maas_model_input_dim(None, b"m", ctypes.byref(value))
    with pytest.raises(dm.InvalidArgument, match="unknown"):
        lib.maas_model_parameter_count(ctypes.c_void_p(0xDEAD0), b"m", ctypes.byref(value))
    with pytest.raises(dm.InvalidArgument, match="NULL"):
        lib.maas_server_endpoint_count(None, ctypes.byref(value))


def test_parameter_sizes_too_small_buffer_reports_the_count(client):
    count = ctypes.c_int64()
    sizes = (ctypes.c_int64 * 1)()
    with pytest.raises(dm.InvalidArgument, match="holds 1"):
        lib.maas_model_parameter_sizes(client.handle, b"described", sizes, 1, ctypes.byref(count))
    assert count.value == 2
    with pytest.raises(dm.InvalidArgument, match="NULL"):
        lib.maas_model_input_dim(client.handle, b"described", None)
    with pytest.raises(dm.InvalidArgument, match="out of range"):
        lib.maas_model_parameter_name(client.handle, b"described", 2, ctypes.byref(ctypes.c_void_p()))


def test_dropped_client_is_closed_by_its_finalizer(uri):
    c = dm.Client(uri)
    handle = ctypes.c_void_p(c.handle.value)
    del c
    gc.collect()
    with pytest.raises(dm.InvalidArgument, match="closed"):
        lib.maas_client_close(handle)


def test_model_keeps_its_client_alive(uri):
    m = dm.Client(uri).model("described")
    gc.collect()
    assert m.log_density(np.zeros((1, 2))).shape == (1,)


def test_dropped_server_is_freed_by_its_finalizer():
    s = dm.Server(log_level="error")
    s.register_density("gone", logp, dim=2, parameters={"mu": [0.0, 0.0], "sigma": 1.0})
    address = s.listen("tcp://127.0.0.1:0")
    handle = ctypes.c_void_p(s._handle.value)
    with dm.Client(address) as c:
        assert c.model("gone").log_density(np.zeros((1, 2))).shape == (1,)
    del s
    gc.collect()
    with pytest.raises(dm.InvalidArgument):
        lib.maas_server_free(handle)
    with pytest.raises(dm.Unavailable):
        dm.Client(address, connect_timeout=2)


def test_endpoints_come_one_at_a_time():
    s = dm.Server(log_level="error")
    first = s.listen("tcp://127.0.0.1:0")
    second = s.listen("tcp://127.0.0.1:0")
    assert s.endpoints == [first, second]
    s.close()


def test_fortran_and_julia_define_the_header_capability_bits():
    # Julia cannot run on every build machine; this keeps its constants (and Fortran's) honest anyway.
    bindings = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(HEADER) as f:
        header = dict(re.findall(r"MAAS_CAP_(\w+) = (\d+)", f.read()))
    with open(os.path.join(bindings, "fortran", "src", "demos_maas.f90")) as f:
        fortran = dict(re.findall(r"MAAS_CAP_(\w+) = (\d+)", f.read()))
    with open(os.path.join(bindings, "julia", "DemosMaas", "src", "DemosMaas.jl")) as f:
        julia = dict(re.findall(r"const CAP_(\w+) = UInt32\((\d+)\)", f.read()))
    assert len(header) == 9 and fortran == header and julia == header
