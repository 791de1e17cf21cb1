"""The errors of the binding: MaasError and one subclass per protocol error code.

Each subclass also derives from the built-in exception a Python caller would expect, so code that
knows nothing about MaaS still catches it sensibly: ``NotFound`` is a ``LookupError``,
``InvalidArgument`` a ``ValueError``, ``Unsupported`` a ``NotImplementedError``,
``DeadlineExceeded`` a ``TimeoutError``, ``Unavailable`` a ``ConnectionError``, ``Unauthenticated``
and ``PermissionDenied`` a ``PermissionError``. The others (``ModelError``, ``Cancelled``,
``ResourceExhausted``, ``ProtocolError``, ``VersionMismatch``, ``Internal``) have no built-in
counterpart that means the same (``ResourceExhausted`` is not this process's ``MemoryError``), so
they are plain ``MaasError`` subclasses.
"""


class MaasError(Exception):
    """A call failed. ``code`` is the protocol error code (1..13), ``status`` its name (from the
    library's ``maas_status_name``), ``message`` the library's explanation."""

    code = None

    def __init__(self, code, message, status=None):
        self.code = code
        self.status = status or _class_status(type(self))
        self.message = message
        super().__init__(f"{self.status}: {message}")


class InvalidArgument(MaasError, ValueError):
    """Bad handle, NULL pointer, wrong size or shape, bad JSON, unknown parameter, out-of-bound value."""
    code = 1


class NotFound(MaasError, LookupError):
    """No such model, dataset or parameter."""
    code = 2


class Unsupported(MaasError, NotImplementedError):
    """The model lacks the capability the call needs."""
    code = 3


class ModelError(MaasError):
    """The model itself failed (a served callable raised, or returned a result of the wrong size)."""
    code = 4


class DeadlineExceeded(MaasError, TimeoutError):
    """The call's deadline passed."""
    code = 5


class Cancelled(MaasError):
    """The call was cancelled (also: a chunk callback stopped the stream)."""
    code = 6


class Unauthenticated(MaasError, PermissionError):
    """Missing or wrong credentials."""
    code = 7


class PermissionDenied(MaasError, PermissionError):
    """The credentials do not allow this call."""
    code = 8


class ResourceExhausted(MaasError):
    """A batch too large for one frame, or a server over its limits."""
    code = 9


class Unavailable(MaasError, ConnectionError):
    """Cannot connect, connection lost, or the server is stopping."""
    code = 10


class ProtocolError(MaasError):
    """A malformed frame or message."""
    code = 11


class VersionMismatch(MaasError):
    """Client and server speak incompatible protocol versions."""
    code = 12


class Internal(MaasError):
    """A bug on the other side."""
    code = 13


ERRORS = (InvalidArgument, NotFound, Unsupported, ModelError, DeadlineExceeded, Cancelled, Unauthenticated,
          PermissionDenied, ResourceExhausted, Unavailable, ProtocolError, VersionMismatch, Internal)
_BY_CODE = {error.code: error for error in ERRORS}


def error_for(code, message, status):
    """The exception for a non-zero status: its subclass, or MaasError for a code this binding does not know."""
    return _BY_CODE.get(code, MaasError)(code, message, status)


def _class_status(cls):
    # Only for exceptions raised by hand (tests, user code); the binding passes the library's name.
    return "Unknown" if cls.code is None else cls.__name__
