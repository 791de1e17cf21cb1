"""Fits the oscillation parameters of the toy long-baseline experiment ("neutrino-fit") with emcee,
calling the model through Demos.Maas, and draws a corner plot.

    DEMOS_MAAS_LIBRARY=.../libdemos_maas.so /usr/bin/python3 bindings/python/examples/fit_neutrino.py \
        [--uri pipe:///tmp/nu.sock] [--steps 1000] [--walkers 24] [--output neutrino-fit.png]

Without --uri the script hosts the built-in model itself (a Demos.Maas server in this process on a
Unix socket) and calls it through a client like any remote model. Free parameters: theta23,
dm31, theta13, deltaCP; the others stay at the model's values. Flat priors inside the model's
parameter bounds. Needs python3-emcee and python3-matplotlib (Debian).
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from demos_maas import Client, Server  # noqa: E402

FREE = ["theta23", "dm31", "theta13", "deltaCP"]
LABELS = [r"$\theta_{23}$ [rad]", r"$\Delta m^2_{31}$ [$10^{-3}$ eV$^2$]", r"$\theta_{13}$ [rad]", r"$\delta_{CP}$ [rad]"]


def fit(model, walkers, steps, seed):
    import emcee

    info = {p["name"]: p for p in model.info["parameters"]}
    names = [p["name"] for p in model.info["parameters"]]
    start = np.array([float(np.ravel(info[n]["default"])[0]) for n in names])
    lower = np.array([float(np.ravel(info[n].get("lower", [-np.inf]))[0]) for n in FREE])
    upper = np.array([float(np.ravel(info[n].get("upper", [np.inf]))[0]) for n in FREE])
    free = [names.index(n) for n in FREE]
    counts = model.data("observed")  # 1 x 36 observed counts

    def log_posterior(q):
        if np.any(q <= lower) or np.any(q >= upper):
            return -np.inf
        theta = start.copy()
        theta[free] = q
        return float(model.log_density(counts, theta=theta)[0])  # one call: all 36 bins

    rng = np.random.default_rng(seed)
    p0 = start[free] * (1 + 1e-3 * rng.standard_normal((walkers, len(FREE))))
    sampler = emcee.EnsembleSampler(walkers, len(FREE), log_posterior)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    return start[free], sampler.get_chain(discard=steps // 4, flat=True), sampler.acceptance_fraction.mean()


def corner(chain, truth, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = chain.copy()
    shown[:, 1] *= 1e3
    truth = truth.copy()
    truth[1] *= 1e3
    k = len(FREE)
    fig, axes = plt.subplots(k, k, figsize=(8, 8))
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(shown[:, i], bins=40, histtype="step", color="k")
                ax.axvline(truth[i], color="tab:blue")
            else:
                ax.hist2d(shown[:, j], shown[:, i], bins=40, cmap="Greys")
                ax.axvline(truth[j], color="tab:blue")
                ax.axhline(truth[i], color="tab:blue")
            if i == k - 1:
                ax.set_xlabel(LABELS[j])
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(LABELS[i])
            elif j > 0:
                ax.set_yticklabels([])
    fig.suptitle("neutrino-fit: emcee through Demos.Maas (blue: values the toy data were drawn at)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uri", help="a server hosting neutrino-fit (default: host it here)")
    parser.add_argument("--walkers", type=int, default=24)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--output", default="neutrino-fit.png")
    args = parser.parse_args(argv)

    server = None
    uri = args.uri
    if uri is None:
        socket = os.path.join(tempfile.mkdtemp(prefix="maas-fit-"), "nu.sock")
        server = Server(listen=[f"pipe://{socket}"])
        server.register_example("neutrino-fit")
        server.start()
        uri = f"pipe://{socket}"
    try:
        with Client(uri) as client:
            truth, chain, acceptance = fit(client.model("neutrino-fit"), args.walkers, args.steps, args.seed)
        corner(chain, truth, args.output)
        for name, value, (lo, mid, hi) in zip(FREE, truth, np.percentile(chain, [16, 50, 84], axis=0).T):
            print(f"{name:8s} {mid:.6g} (+{hi - mid:.2g} -{mid - lo:.2g})   drawn at {value:.6g}")
        print(f"acceptance {acceptance:.2f}, {len(chain)} draws, plot {args.output}")
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
