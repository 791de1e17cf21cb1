"""Template: a model served from Python.  Replace log_density with your model and run
    DEMOS_MAAS_LIBRARY=/path/to/libdemos_maas.so PYTHONPATH=/path/to/bindings/python python3 my_model.py [listen-uri ...]
(serve.sh sets both for a checkout of the repository)."""
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(f"my_model.py needs numpy, which {sys.executable} does not have: on Debian run it with "
             "/usr/bin/python3 after 'apt-get install python3-numpy' (serve.sh does), or 'pip install numpy'.")

from demos_maas import Server


def log_density(x, theta):
    """x: (n, 2) points, theta: (mu, sigma) → (n,) log-densities, vectorised (no Python loop over points)."""
    mu, sigma = theta
    if sigma <= 0:
        raise ValueError("sigma must be positive")  # becomes ModelError at the caller
    return -0.5 * (((x - mu) / sigma) ** 2).sum(axis=1) - x.shape[1] * np.log(sigma * np.sqrt(2 * np.pi))


def sampler(n, seed, theta):
    return theta[0] + theta[1] * np.random.default_rng(seed).standard_normal((n, 2))


if __name__ == "__main__":
    server = Server(listen=sys.argv[1:] or ["tcp://127.0.0.1:5000"], log_level="warning")
    server.register_density("my_model", log_density, dim=2, sampler=sampler, parameters={"mu": 0.0, "sigma": 1.0})
    server.serve(ready=lambda s: print("listening", *s.endpoints, flush=True))
