"""pip installs the binding offline from its folder (pyproject.toml), and the installed copy works."""
import os
import shutil
import subprocess
import sys

from demos_maas._native import lib

PACKAGE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def test_pip_installs_offline_from_the_folder(tmp_path):
    # A copy, so the build's by-products (build/, *.egg-info) never land in the source tree.
    source = tmp_path / "python"
    shutil.copytree(PACKAGE_DIR, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", ".pytest_cache"))
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-build-isolation",
                              "--target", str(target), str(source)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    check = ("import demos_maas as dm, sys; assert dm.__file__.startswith(sys.argv[1]), dm.__file__; "
             "s = dm.Server(log_level='error').register_example('gaussian1d'); c = dm.Client(s.listen('tcp://127.0.0.1:0')); "
             "print(c.model('gaussian1d').input_dim, dm.version()); c.close(); s.close()")
    run = subprocess.run([sys.executable, "-c", check, str(target)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(target), DEMOS_MAAS_LIBRARY=lib._name))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == "1"
