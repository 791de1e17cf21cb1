"""demos_maas: Python binding of libdemos_maas.so (Demos.Maas, Models as a Service).

    from demos_maas import Client
    with Client("tcp://127.0.0.1:5000") as client:
        model = client.model("gaussian2d")
        logp = model.log_density(points)          # points: numpy array (n, 2) → (n,)

The library is found through DEMOS_MAAS_LIBRARY, next to this package, in bindings/build/native/,
or on the system library path. Every failure raises a MaasError subclass named after its status
(NotFound, InvalidArgument, ...), which also derives from the matching built-in exception.
"""
from ._native import STATUS_NAMES, lib as _lib, status_name
from .capabilities import Capability
from .client import Client, Model
from .errors import (Cancelled, DeadlineExceeded, Internal, InvalidArgument, MaasError, ModelError, NotFound,
                     PermissionDenied, ProtocolError, ResourceExhausted, Unauthenticated, Unavailable, Unsupported,
                     VersionMismatch)
from .server import Server

__all__ = ["Client", "Model", "Server", "Capability", "MaasError", "InvalidArgument", "NotFound", "Unsupported",
           "ModelError", "DeadlineExceeded", "Cancelled", "Unauthenticated", "PermissionDenied",
           "ResourceExhausted", "Unavailable", "ProtocolError", "VersionMismatch", "Internal", "STATUS_NAMES",
           "status_name", "version"]


def version():
    """The native library's version."""
    return _lib.maas_version().decode()
