"""The README's examples that follow a "run by tests/test_readme.py" marker run as written."""
import os
import re
import subprocess
import sys

import pytest

from demos_maas._native import lib

PACKAGE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MARKER = "<!-- run by tests/test_readme.py -->"


def readme_examples():
    with open(os.path.join(PACKAGE_DIR, "README.md")) as f:
        text = f.read()
    return re.findall(re.escape(MARKER) + r"\n```python\n(.*?)```", text, re.S)


def test_readme_has_tested_examples():
    assert len(readme_examples()) >= 2


@pytest.mark.parametrize("index", range(len(readme_examples())))
def test_readme_example_runs(index):
    code = readme_examples()[index]
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, DEMOS_MAAS_LIBRARY=lib._name)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the example prints what it shows"
