import sys, numpy as np
from demos_maas import Server

def log_density(x, theta):  # isotropic normal N(mu, sigma^2 I), vectorised over the rows of x
    return -0.5 * (((x - theta[0]) / theta[1]) ** 2).sum(axis=1) - x.shape[1] * np.log(theta[1] * np.sqrt(2 * np.pi))

if __name__ == "__main__":
    server = Server(listen=sys.argv[1:] or ["tcp://127.0.0.1:5000"])
    server.register_density("pynormal", log_density, dim=2, parameters={"mu": 0.5, "sigma": 1.5})
    server.serve(ready=lambda s: print("listening", *s.endpoints, flush=True))
