"""The emcee fit of examples/fit_neutrino.py, run short: it calls the served model, recovers the
atmospheric splitting and writes a PNG."""
import importlib.util
import os
import sys

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


def require(module):
    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} is missing on CI: scripts/install-test-deps.sh installs python3-{module}")
        pytest.skip(f"{module} is not installed")


def test_the_emcee_fit_through_maas_recovers_dm31_and_writes_a_corner_plot(tmp_path, capsys):
    require("emcee")
    require("matplotlib")
    sys.path.insert(0, EXAMPLES)
    import fit_neutrino

    output = tmp_path / "fit.png"
    fit_neutrino.main(["--walkers", "12", "--steps", "200", "--output", str(output)])
    printed = capsys.readouterr().out
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    line = next(l for l in printed.splitlines() if l.startswith("dm31"))
    median, truth = float(line.split()[1]), float(line.split()[-1])
    assert abs(median - truth) < 0.02 * truth
    assert np.isfinite(median)
