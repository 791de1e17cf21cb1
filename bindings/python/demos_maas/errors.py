"""MaasError: a non-zero status of the C ABI with its code and message."""
from . import _native

STATUS_NAMES = {
    1: "InvalidArgument", 2: "NotFound", 3: "Unsupported", 4: "ModelError", 5: "DeadlineExceeded",
    6: "Cancelled", 7: "Unauthenticated", 8: "PermissionDenied", 9: "ResourceExhausted",
    10: "Unavailable", 11: "ProtocolError", 12: "VersionMismatch", 13: "Internal",
}


class MaasError(Exception):
    """A call failed. ``code`` is the protocol error code (1..13), ``status`` its name."""

    def __init__(self, code, message):
        super().__init__(f"{STATUS_NAMES.get(code, code)}: {message}")
        self.code = code
        self.status = STATUS_NAMES.get(code, "Unknown")
        self.message = message


def check(status):
    """Raises MaasError for a non-zero status, with this thread's last-error message."""
    if status != 0:
        message = _native.lib.maas_last_error()
        raise MaasError(status, message.decode("utf-8", "replace") if message else "")
