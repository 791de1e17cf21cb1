"""Arrays across the boundary: numpy when present (zero-copy views, no per-element Python loops),
otherwise array('d') buffers and nested lists."""
import array
import ctypes

from ._native import c_double_p

try:
    import numpy as np
except ImportError:  # pragma: no cover - exercised only without numpy
    np = None

HAVE_NUMPY = np is not None


def points(x, d):
    """Caller data → (buffer, pointer, n, columns), row-major float64, kept alive by buffer."""
    if np is not None:
        a = np.ascontiguousarray(x, dtype=np.float64)
        if a.ndim == 0:
            a = a.reshape(1, 1)
        elif a.ndim == 1:
            a = a.reshape(-1, 1) if d == 1 else a.reshape(1, -1)
        elif a.ndim != 2:
            raise ValueError(f"points must be 1-D or 2-D, not {a.ndim}-D")
        return a, a.ctypes.data_as(c_double_p), a.shape[0], a.shape[1]
    rows = [x] if not isinstance(x, (list, tuple)) else list(x)
    if rows and not isinstance(rows[0], (list, tuple)):
        rows = [[v] for v in rows] if d == 1 else [rows]
    columns = len(rows[0]) if rows else d
    flat = array.array("d", (float(v) for row in rows for v in row))
    return flat, _pointer(flat), len(rows), columns


def vector(values):
    """A flat float64 vector (theta, parameter values), or (None, None, 0)."""
    if values is None:
        return None, None, 0
    if np is not None:
        a = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        return a, a.ctypes.data_as(c_double_p), a.size
    flat = array.array("d", [float(values)] if isinstance(values, (int, float)) else (float(v) for v in values))
    return flat, _pointer(flat), len(flat)


def empty(count):
    """An output buffer of count doubles: (buffer, pointer)."""
    if np is not None:
        a = np.empty(count, dtype=np.float64)
        return a, a.ctypes.data_as(c_double_p)
    flat = array.array("d", bytes(8 * count))
    return flat, _pointer(flat)


def shaped(buffer, rows, columns):
    """The output as an (rows, columns) array, or a list of rows without numpy."""
    if np is not None:
        return buffer.reshape(rows, columns)
    return [list(buffer[i * columns:(i + 1) * columns]) for i in range(rows)]


def flat(buffer):
    """The output as a 1-D array (or list)."""
    return buffer if np is not None else list(buffer)


def view(pointer, count):
    """A zero-copy view of library-owned memory, valid only during a callback."""
    if count == 0 or not pointer:
        return np.empty(0) if np is not None else []
    if np is not None:
        return np.ctypeslib.as_array(pointer, shape=(count,))
    return pointer[:count]


def _pointer(buffer):
    if len(buffer) == 0:
        return None
    return ctypes.cast((ctypes.c_double * len(buffer)).from_buffer(buffer), c_double_p)
