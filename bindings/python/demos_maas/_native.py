"""Loads libdemos_maas.so and declares the C ABI (bindings/c/demos_maas.h) for ctypes.

Every function that returns a status gets an ``errcheck``: a non-zero status raises the
MaasError subclass of that code (with the calling thread's ``maas_last_error``) right where the
call returns, so no call site can forget to check.
"""
import ctypes
import ctypes.util
import os

from . import errors

c_double_p = ctypes.POINTER(ctypes.c_double)
c_int64_p = ctypes.POINTER(ctypes.c_int64)

# Callback types of demos_maas.h
CHUNK_FN = ctypes.CFUNCTYPE(ctypes.c_int, c_double_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, c_double_p, ctypes.c_int64, ctypes.c_int64, c_double_p, ctypes.c_int64, c_double_p, ctypes.c_void_p)
PRODUCT_FN = ctypes.CFUNCTYPE(ctypes.c_int, c_double_p, ctypes.c_int64, ctypes.c_int64, c_double_p, ctypes.c_int64,
                              c_double_p, ctypes.c_int64, c_double_p, ctypes.c_void_p)
SAMPLER_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int64, ctypes.c_int64, c_double_p, ctypes.c_int64, c_double_p, ctypes.c_void_p)


class ModelCallbacks(ctypes.Structure):
    """maas_model_callbacks."""
    _fields_ = [
        ("user_data", ctypes.c_void_p),
        ("log_density", BATCH_FN),
        ("gradient", BATCH_FN),
        ("gradient_theta", BATCH_FN),
        ("evaluate", BATCH_FN),
        ("vjp", PRODUCT_FN),
        ("jvp", PRODUCT_FN),
        ("sampler", SAMPLER_FN),
    ]


def _candidates():
    env = os.environ.get("DEMOS_MAAS_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libdemos_maas.so")
    yield os.path.normpath(os.path.join(here, "..", "..", "build", "native", "libdemos_maas.so"))
    found = ctypes.util.find_library("demos_maas")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as error:
            tried.append(f"{path} ({error})")
    raise OSError("libdemos_maas.so not found; set DEMOS_MAAS_LIBRARY to its path. Tried: " + ", ".join(tried))


lib = _load()

_I = ctypes.c_int
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_L = ctypes.c_int64
_D = c_double_p
_SIGNATURES = {
    "maas_version": (_S, []),
    "maas_last_error": (_S, []),
    "maas_status_name": (_S, [_I]),
    "maas_free": (None, [_P]),
    "maas_callback_error": (None, [_S]),
    "maas_client_connect": (_I, [_S, _S, ctypes.POINTER(_P)]),
    "maas_client_close": (_I, [_P]),
    "maas_client_list_models": (_I, [_P, ctypes.POINTER(_P)]),
    "maas_client_model_info": (_I, [_P, _S, ctypes.POINTER(_P)]),
    "maas_log_density": (_I, [_P, _S, _D, _L, _L, _D, _L, _D, _L, c_int64_p]),
    "maas_evaluate": (_I, [_P, _S, _D, _L, _L, _D, _L, _D, _L, c_int64_p]),
    "maas_gradient": (_I, [_P, _S, _I, _D, _L, _L, _D, _L, _D, _L, _D, _L, c_int64_p]),
    "maas_sample": (_I, [_P, _S, ctypes.c_uint64, _L, _D, _L, _D, _L, c_int64_p]),
    "maas_sample_chunks": (_I, [_P, _S, ctypes.c_uint64, _L, _L, _D, _L, CHUNK_FN, _P]),
    "maas_read_data": (_I, [_P, _S, _S, _L, _L, _D, _L, c_int64_p, c_int64_p]),
    "maas_read_data_chunks": (_I, [_P, _S, _S, _L, _L, _L, CHUNK_FN, _P]),
    "maas_get_parameters": (_I, [_P, _S, ctypes.POINTER(_P)]),
    "maas_get_parameter": (_I, [_P, _S, _S, _D, _L, c_int64_p]),
    "maas_update_parameters": (_I, [_P, _S, _S, ctypes.POINTER(_P)]),
    "maas_update_parameter": (_I, [_P, _S, _S, _D, _L]),
    "maas_model_input_dim": (_I, [_P, _S, c_int64_p]),
    "maas_model_output_dim": (_I, [_P, _S, c_int64_p]),
    "maas_model_parameter_count": (_I, [_P, _S, c_int64_p]),
    "maas_model_capabilities": (_I, [_P, _S, ctypes.POINTER(ctypes.c_uint32)]),
    "maas_model_name": (_I, [_P, _S, ctypes.POINTER(_P)]),
    "maas_model_uuid": (_I, [_P, _S, ctypes.POINTER(_P)]),
    "maas_model_version": (_I, [_P, _S, ctypes.POINTER(_P)]),
    "maas_model_parameter_sizes": (_I, [_P, _S, c_int64_p, _L, c_int64_p]),
    "maas_model_parameter_name": (_I, [_P, _S, _L, ctypes.POINTER(_P)]),
    "maas_server_create": (_I, [_S, ctypes.POINTER(_P)]),
    "maas_server_create_from_file": (_I, [_S, ctypes.POINTER(_P)]),
    "maas_server_register_model": (_I, [_P, _S, ctypes.POINTER(ModelCallbacks), ctypes.c_uint32]),
    "maas_server_register_example": (_I, [_P, _S]),
    "maas_server_listen": (_I, [_P, _S, ctypes.POINTER(_P)]),
    "maas_server_start": (_I, [_P]),
    "maas_server_endpoints": (_I, [_P, ctypes.POINTER(_P)]),
    "maas_server_endpoint_count": (_I, [_P, c_int64_p]),
    "maas_server_endpoint": (_I, [_P, _L, ctypes.POINTER(_P)]),
    "maas_server_serve": (_I, [_P]),
    "maas_server_stop": (_I, [_P]),
    "maas_server_free": (_I, [_P]),
}


def status_name(code):
    """The protocol name of a status code, from the library (maas_status_name)."""
    return lib.maas_status_name(code).decode()


def raise_for_status(status, function, arguments):
    """errcheck of every status-returning function: raises the MaasError subclass of a non-zero status."""
    if status != 0:
        message = lib.maas_last_error()
        raise errors.error_for(status, message.decode("utf-8", "replace") if message else "", status_name(status))
    return status


for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
    if _restype is _I:
        _fn.errcheck = raise_for_status


def take_string(pointer):
    """Reads a library-owned char* and frees it."""
    if not pointer:
        return None
    try:
        return ctypes.string_at(pointer).decode("utf-8")
    finally:
        lib.maas_free(pointer)


# The names of the error codes 1..13, as the library spells them.
STATUS_NAMES = {code: status_name(code) for code in range(1, 14)}
