"""The server: serve Python callables as a MaaS model.

    server = Server(listen=["tcp://127.0.0.1:5000"])
    server.register_density("normal", lambda x, theta: -0.5 * (x ** 2).sum(axis=1), dim=2)
    server.serve()

Callbacks get numpy views of the library's buffers (no copies): x (n, d), theta (p,), and return
an array the library copies out. They run on the library's worker threads (each takes the GIL), so
several may run at once unless the model is registered with serial=True. A Python exception in a
callback becomes ModelError with its message at the remote caller.
"""
import ctypes
import json
import signal
import threading
import weakref

from . import _arrays
from ._native import BATCH_FN, PRODUCT_FN, SAMPLER_FN, ModelCallbacks, lib, take_string
from .errors import MaasError

SERIAL = 1


class Server:
    """A MaaS server hosting Python models. Keeps every registered callable alive."""

    def __init__(self, listen=None, workers=0, log_level="warning", config=None, **settings):
        """listen: a URI or a list of URIs — or, as the first argument, a whole configuration (a dict or
        a JSON string, keys as maas_server_create: listen, workers, max_frame_bytes, max_in_flight,
        drain_ms, log_level). Keyword settings override the configuration."""
        if isinstance(listen, dict) or (isinstance(listen, str) and listen.lstrip().startswith("{")):
            config, listen = listen, None
        if isinstance(config, str):
            config = json.loads(config)
        body = dict(config or {})
        if listen is not None:
            body["listen"] = [listen] if isinstance(listen, str) else list(listen)
        if workers:
            body["workers"] = workers
        body.setdefault("log_level", log_level)
        body.update(settings)
        handle = ctypes.c_void_p()
        lib.maas_server_create(json.dumps(body).encode(), ctypes.byref(handle))
        self._handle = handle
        self._keep = []  # ctypes callbacks and the callables they close over: must outlive the server
        self._stopped = threading.Event()
        # A server dropped without close() is freed by the collector; the finalizer holds the
        # callbacks, so they stay alive until the library has let go of them.
        self._finalizer = weakref.finalize(self, _release, handle, self._keep)

    @classmethod
    def from_file(cls, path):
        """A server configured by a JSON file (maas_server_create_from_file's format)."""
        with open(path) as f:
            return cls(json.load(f))

    def register(self, name, input_dim, *, log_density=None, gradient=None, gradient_theta=None,
                 evaluate=None, output_dim=0, vjp=None, jvp=None, sampler=None, parameters=None,
                 datasets=None, serial=False, **metadata):
        """Registers a model. Callables: log_density(x, theta) → (n,), gradient(x, theta) → (n, d),
        gradient_theta(x, theta) → (n, p), evaluate(x, theta) → (n, output_dim),
        vjp(x, v, theta) → (n, d), jvp(x, v, theta) → (n, output_dim), sampler(n, seed, theta) → (n, d).
        parameters: {name: default (number or list)} or a list of dicts with name/default/lower/upper."""
        meta = {"name": name, "input_dim": input_dim, "output_dim": output_dim}
        meta.update(metadata)
        if parameters:
            if isinstance(parameters, dict):
                meta["parameters"] = [{"name": k, "default": _plain(v)} for k, v in parameters.items()]
            else:
                meta["parameters"] = [dict(p, default=_plain(p["default"])) for p in parameters]
        if datasets:
            meta["datasets"] = [{"name": k, "columns": int(_arrays.np.shape(v)[1]) if _arrays.HAVE_NUMPY else len(v[0]),
                                 "values": _flatten(v)} for k, v in datasets.items()]
        callbacks = ModelCallbacks()
        if log_density is not None:
            callbacks.log_density = self._batch(log_density, lambda n, d, p: n)
        if gradient is not None:
            callbacks.gradient = self._batch(gradient, lambda n, d, p: n * d)
        if gradient_theta is not None:
            callbacks.gradient_theta = self._batch(gradient_theta, lambda n, d, p: n * p)
        if evaluate is not None:
            callbacks.evaluate = self._batch(evaluate, lambda n, d, p: n * output_dim)
        if vjp is not None:
            callbacks.vjp = self._product(vjp, lambda n, d: n * d)
        if jvp is not None:
            callbacks.jvp = self._product(jvp, lambda n, d: n * output_dim)
        if sampler is not None:
            callbacks.sampler = self._sampler(sampler)
        self._keep.append(callbacks)
        lib.maas_server_register_model(self._handle, json.dumps(meta).encode(), ctypes.byref(callbacks), SERIAL if serial else 0)
        return self

    def register_density(self, name, log_density, dim, gradient=None, sampler=None, parameters=None, **kwargs):
        """A density model: log_density(x, theta) → (n,) with optional gradient and sampler."""
        return self.register(name, dim, log_density=log_density, gradient=gradient, sampler=sampler, parameters=parameters, **kwargs)

    def register_function(self, name, evaluate, input_dim, output_dim, vjp=None, jvp=None, parameters=None, **kwargs):
        """A forward model: evaluate(x, theta) → (n, output_dim)."""
        return self.register(name, input_dim, evaluate=evaluate, output_dim=output_dim, vjp=vjp, jvp=jvp, parameters=parameters, **kwargs)

    def register_example(self, name):
        """Hosts a built-in example model ("gaussian1d", "gaussian2d", "decay", or a physics model of
        docs/examples.md such as "neutrino-fit")."""
        lib.maas_server_register_example(self._handle, name.encode())
        return self

    def listen(self, uri):
        """Binds one more URI now; returns the actual address (tcp port 0 → the real port)."""
        out = ctypes.c_void_p()
        lib.maas_server_listen(self._handle, uri.encode(), ctypes.byref(out))
        return take_string(out)

    def start(self):
        """Binds the configured URIs; returns at once."""
        lib.maas_server_start(self._handle)
        return self

    @property
    def endpoints(self):
        """The bound URIs."""
        count = ctypes.c_int64()
        lib.maas_server_endpoint_count(self._handle, ctypes.byref(count))
        uris = []
        for index in range(count.value):
            out = ctypes.c_void_p()
            lib.maas_server_endpoint(self._handle, index, ctypes.byref(out))
            uris.append(take_string(out))
        return uris

    def serve(self, ready=None):
        """Starts and blocks until stop() or SIGINT/SIGTERM (in the main thread). ready(server) is called once listening."""
        self.start()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self._stopped.set())
        if ready is not None:
            ready(self)
        while not self._stopped.wait(0.2):
            pass
        self.stop()

    def stop(self):
        """Graceful stop (drains running calls)."""
        self._stopped.set()
        if self._handle is not None:
            lib.maas_server_stop(self._handle)

    def close(self):
        """Stops and frees the server. Closing twice is harmless."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._stopped.set()
            self._finalizer.detach()
            lib.maas_server_free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Each wrapper views the library's buffers, calls the Python function, copies its result into
    # out, and turns any exception into a callback error (never unwinding into the library).
    def _batch(self, function, out_count):
        def call(x, n, d, theta, p, out, _user):
            try:
                xs = _arrays.shaped(_arrays.view(x, n * d), n, d) if _arrays.HAVE_NUMPY else _arrays.shaped(_arrays.view(x, n * d), n, d)
                result = function(xs, _arrays.view(theta, p))
                _store(out, out_count(n, d, p), result)
                return 0
            except BaseException as error:  # noqa: BLE001 - everything becomes a ModelError
                lib.maas_callback_error(_message(error))
                return 1
        return self._hold(BATCH_FN(call))

    def _product(self, function, out_count):
        def call(x, n, d, v, v_len, theta, p, out, _user):
            try:
                xs = _arrays.shaped(_arrays.view(x, n * d), n, d)
                vs = _arrays.view(v, v_len)
                if _arrays.HAVE_NUMPY and n:
                    vs = vs.reshape(n, -1)
                result = function(xs, vs, _arrays.view(theta, p))
                _store(out, out_count(n, d), result)
                return 0
            except BaseException as error:  # noqa: BLE001
                lib.maas_callback_error(_message(error))
                return 1
        return self._hold(PRODUCT_FN(call))

    def _sampler(self, function):
        def call(seed, n, d, theta, p, out, _user):
            try:
                _store(out, n * d, function(n, seed, _arrays.view(theta, p)))
                return 0
            except BaseException as error:  # noqa: BLE001
                lib.maas_callback_error(_message(error))
                return 1
        return self._hold(SAMPLER_FN(call))

    def _hold(self, callback):
        self._keep.append(callback)
        return callback


def _release(handle, callbacks):
    try:
        lib.maas_server_free(handle)
    except MaasError:
        pass  # already freed elsewhere; nothing to report during collection
    callbacks.clear()


def _store(out, count, result):
    if count == 0:
        return
    if _arrays.HAVE_NUMPY:
        values = _arrays.np.asarray(result, dtype=_arrays.np.float64).reshape(-1)
        if values.size != count:
            raise ValueError(f"the model returned {values.size} values, expected {count}")
        _arrays.np.ctypeslib.as_array(out, shape=(count,))[:] = values
    else:
        values = _flatten(result)
        if len(values) != count:
            raise ValueError(f"the model returned {len(values)} values, expected {count}")
        for i, v in enumerate(values):
            out[i] = v


def _message(error):
    return f"{type(error).__name__}: {error}".encode("utf-8", "replace")


def _plain(value):
    if _arrays.HAVE_NUMPY and isinstance(value, _arrays.np.ndarray):
        return value.tolist()
    return value


def _flatten(values):
    if _arrays.HAVE_NUMPY:
        return _arrays.np.asarray(values, dtype=float).reshape(-1).tolist()
    out = []
    for v in (values if isinstance(values, (list, tuple)) else [values]):
        out.extend(_flatten(v) if isinstance(v, (list, tuple)) else [float(v)])
    return out
