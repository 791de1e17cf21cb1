"""demos_maas: Python binding of libdemos_maas.so (Demos.Maas, Models as a Service).

    from demos_maas import Client
    with Client("tcp://127.0.0.1:5000") as client:
        model = client.model("gaussian2d")
        logp = model.log_density(points)          # points: numpy array (n, 2) → (n,)

The library is found through DEMOS_MAAS_LIBRARY, next to this package, in bindings/build/native/,
or on the system library path.
"""
from ._native import lib as _lib
from .client import Client, Model
from .errors import MaasError, STATUS_NAMES
from .server import Server

__all__ = ["Client", "Model", "Server", "MaasError", "STATUS_NAMES", "version"]


def version():
    """The native library's version."""
    return _lib.maas_version().decode()
