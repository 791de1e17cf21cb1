"""The client: Client(uri) → client.model(name) → methods on numpy arrays."""
import ctypes
import json
import weakref

from . import _arrays
from ._native import CHUNK_FN, lib, take_string
from .capabilities import Capability
from .errors import InvalidArgument, MaasError

GRADIENT_KINDS = {"x": 1, "theta": 2, "vjp": 3, "jvp": 4}


class Client:
    """A connection to a MaaS server ("pipe:///path.sock", "tcp://host:port").

    Thread-safe: one client may be used from many threads at once (calls release the GIL).
    """

    def __init__(self, uri, timeout=None, connect_timeout=None, **options):
        if timeout is not None:
            options["timeout_ms"] = int(timeout * 1000)
        if connect_timeout is not None:
            options["connect_timeout_ms"] = int(connect_timeout * 1000)
        handle = ctypes.c_void_p()
        lib.maas_client_connect(uri.encode(), json.dumps(options).encode() if options else None, ctypes.byref(handle))
        self._handle = handle
        self.uri = uri
        # A client dropped without close() (or alive at interpreter exit) still closes its connection.
        self._finalizer = weakref.finalize(self, _release, lib.maas_client_close, handle)

    @property
    def handle(self):
        """The raw maas_client handle (None once closed)."""
        return self._handle

    def close(self):
        """Closes the connection; later calls raise InvalidArgument. Closing twice is harmless."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._finalizer.detach()
            lib.maas_client_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def models(self):
        """Info (a dict) of every model on the server."""
        out = ctypes.c_void_p()
        lib.maas_client_list_models(self._handle, ctypes.byref(out))
        return json.loads(take_string(out))

    def model(self, name):
        """The model called ``name`` (or with that uuid)."""
        return Model(self, name)


class Model:
    """A remote model; its methods take and return numpy arrays (one point per row).

    Its description comes from the library's accessors (no JSON): ``name``, ``uuid``, ``version``,
    ``input_dim``, ``output_dim``, ``parameter_count`` (the length of theta), ``parameter_names``,
    ``parameter_sizes`` and ``capabilities`` (a :class:`Capability` flag set). ``info`` is the whole
    info document (description, authors, bounds, ...) as a dict, fetched when first asked for.
    """

    def __init__(self, client, name):
        self._client = client
        self._name = name.encode()
        handle = client._handle
        self.name = _text(lib.maas_model_name, handle, self._name)  # NotFound for an unknown model
        self.uuid = _text(lib.maas_model_uuid, handle, self._name)
        self.version = _text(lib.maas_model_version, handle, self._name)
        self.input_dim = _int64(lib.maas_model_input_dim, handle, self._name)
        self.output_dim = _int64(lib.maas_model_output_dim, handle, self._name)
        self.parameter_count = _int64(lib.maas_model_parameter_count, handle, self._name)
        caps = ctypes.c_uint32()
        lib.maas_model_capabilities(handle, self._name, ctypes.byref(caps))
        self.capabilities = Capability(caps.value)
        self.parameter_sizes = _parameter_sizes(handle, self._name)
        self.parameter_names = [_text(lib.maas_model_parameter_name, handle, self._name, i)
                                for i in range(len(self.parameter_sizes))]
        self._info = None

    @property
    def info(self):
        """The model's whole info document (maas_client_model_info) as a dict."""
        if self._info is None:
            out = ctypes.c_void_p()
            lib.maas_client_model_info(self._client._handle, self._name, ctypes.byref(out))
            self._info = json.loads(take_string(out))
        return self._info

    def has(self, capability):
        """True when the model has every capability in ``capability`` (a Capability or a combination)."""
        return (self.capabilities & capability) == capability

    def __repr__(self):
        return f"<demos_maas.Model {self.name} {self.version} d={self.input_dim}>"

    def __call__(self, x, theta=None):
        """log_density when the model has one, else evaluate."""
        if self.has(Capability.LOG_DENSITY):
            return self.log_density(x, theta)
        return self.evaluate(x, theta)

    def log_density(self, x, theta=None):
        """log p(x_i | theta) for each row of x: shape (n,)."""
        keep, xp, n, d = _arrays.points(x, self.input_dim)
        tk, tp, tn = _arrays.vector(theta)
        out, op = _arrays.empty(n)
        lib.maas_log_density(self._client._handle, self._name, xp, n, d, tp, tn, op, n, None)
        return _arrays.flat(out)

    def evaluate(self, x, theta=None):
        """F(theta; x_i) for each row: shape (n, output_dim)."""
        keep, xp, n, d = _arrays.points(x, self.input_dim)
        tk, tp, tn = _arrays.vector(theta)
        out, op = _arrays.empty(n * self.output_dim)
        lib.maas_evaluate(self._client._handle, self._name, xp, n, d, tp, tn, op, n * self.output_dim, None)
        return _arrays.shaped(out, n, self.output_dim)

    def gradient(self, x, kind="x", vector=None, theta=None):
        """d log p/dx (n, d), d log p/dtheta (n, p), vjp (n, d) or jvp (n, output_dim)."""
        code = GRADIENT_KINDS.get(kind)
        if code is None:
            raise ValueError(f"kind must be one of {sorted(GRADIENT_KINDS)}")
        keep, xp, n, d = _arrays.points(x, self.input_dim)
        vk, vp, vn = _arrays.vector(vector)
        tk, tp, tn = _arrays.vector(theta)
        columns = {1: self.input_dim, 2: self.parameter_count, 3: self.input_dim, 4: self.output_dim}[code]
        out, op = _arrays.empty(n * columns)
        lib.maas_gradient(self._client._handle, self._name, code, xp, n, d, vp, vn, tp, tn, op, n * columns, None)
        return _arrays.shaped(out, n, columns)

    def sample(self, n, seed=0, theta=None):
        """n draws (n, input_dim); the same seed gives the same draws."""
        tk, tp, tn = _arrays.vector(theta)
        out, op = _arrays.empty(n * self.input_dim)
        lib.maas_sample(self._client._handle, self._name, seed, n, tp, tn, op, n * self.input_dim, None)
        return _arrays.shaped(out, n, self.input_dim)

    def sample_chunks(self, n, seed=0, chunk_rows=0, theta=None):
        """The draws as the list of streamed chunks (each an array copied out of the stream)."""
        tk, tp, tn = _arrays.vector(theta)
        chunks = []
        callback = _chunk_collector(chunks)
        lib.maas_sample_chunks(self._client._handle, self._name, seed, n, chunk_rows, tp, tn, callback, None)
        return chunks

    def data(self, name, offset=0, count=-1):
        """Rows [offset, offset+count) of a dataset: shape (rows, columns)."""
        rows, cols = ctypes.c_int64(), ctypes.c_int64()
        # Ask for the size first (a zero-capacity call reports rows and columns), then fetch.
        try:
            lib.maas_read_data(self._client._handle, self._name, name.encode(), offset, count, None, 0, ctypes.byref(rows), ctypes.byref(cols))
        except InvalidArgument:
            if rows.value * cols.value == 0:
                raise
        out, op = _arrays.empty(rows.value * cols.value)
        lib.maas_read_data(self._client._handle, self._name, name.encode(), offset, rows.value, op, rows.value * cols.value, ctypes.byref(rows), ctypes.byref(cols))
        return _arrays.shaped(out, rows.value, cols.value)

    @property
    def parameters(self):
        """Current parameter values: {name: array}."""
        return {k: _as_array(v) for k, v in self.parameter_set()["values"].items()}

    def parameter_set(self):
        """{"version": v, "values": {name: [..]}} as the server holds it."""
        out = ctypes.c_void_p()
        lib.maas_get_parameters(self._client._handle, self._name, ctypes.byref(out))
        return json.loads(take_string(out))

    def update_parameters(self, values=None, update_id=None, **named):
        """Updates some parameters (dict or keywords); returns the new {name: array}."""
        merged = dict(values or {})
        merged.update(named)
        body = {k: _as_list(v) for k, v in merged.items()}
        if update_id is not None:
            body = {"values": body, "update_id": update_id}
        out = ctypes.c_void_p()
        lib.maas_update_parameters(self._client._handle, self._name, json.dumps(body).encode(), ctypes.byref(out))
        return {k: _as_array(v) for k, v in json.loads(take_string(out))["values"].items()}


def _release(close, handle):
    try:
        close(handle)
    except MaasError:
        pass  # already gone (the library was told elsewhere); nothing to report during collection


def _int64(function, *arguments):
    value = ctypes.c_int64()
    function(*arguments, ctypes.byref(value))
    return value.value


def _text(function, *arguments):
    out = ctypes.c_void_p()
    function(*arguments, ctypes.byref(out))
    return take_string(out)


def _parameter_sizes(handle, name):
    count = ctypes.c_int64()
    # Without a buffer the library reports the number of parameters, failing when there are any.
    try:
        lib.maas_model_parameter_sizes(handle, name, None, 0, ctypes.byref(count))
    except InvalidArgument:
        if count.value == 0:
            raise
    sizes = (ctypes.c_int64 * count.value)()
    lib.maas_model_parameter_sizes(handle, name, sizes, count.value, ctypes.byref(count))
    return list(sizes)


def _chunk_collector(chunks):
    def on_chunk(rows, n_rows, n_cols, _user):
        try:
            chunks.append(_arrays.shaped(_copy(_arrays.view(rows, n_rows * n_cols)), n_rows, n_cols))
            return 0
        except BaseException:  # never let an exception unwind into the library
            return 1
    return CHUNK_FN(on_chunk)


def _copy(values):
    return values.copy() if _arrays.HAVE_NUMPY else list(values)


def _as_array(values):
    return _arrays.np.asarray(values, dtype=float) if _arrays.HAVE_NUMPY else list(values)


def _as_list(values):
    if _arrays.HAVE_NUMPY:
        return _arrays.np.asarray(values, dtype=float).reshape(-1).tolist()
    return [float(values)] if isinstance(values, (int, float)) else [float(v) for v in values]
