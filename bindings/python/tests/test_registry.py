"""maas://<uuid>[@version] through the native library: the same URI works in every binding. The
reference file is written by the maas tool (`maas ref new`), and the client runs in a child process
because the library reads MAAS_REGISTRY from the environment it started with."""
import glob
import os
import subprocess
import sys

import pytest

import demos_maas as dm
from demos_maas._native import lib

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PACKAGE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DECAY_UUID = "0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a02"


def maas_tool():
    """The maas tool: the NativeAOT binary run-tests.sh published, else the built maas.dll."""
    aot = os.environ.get("MAAS_AOT_BINARY")
    if aot and os.path.exists(aot):
        return [aot]
    built = sorted(glob.glob(os.path.join(REPO, "src/Demos.Maas.Cli/bin/*/net10.0/maas.dll")), key=os.path.getmtime)
    if built:
        return ["dotnet", built[-1]]
    if os.environ.get("CI") == "true":
        pytest.fail("the maas tool is not built (run-tests.sh builds it before the bindings)")
    pytest.skip("the maas tool is not built (dotnet build src/Demos.Maas.Cli)")


CLIENT = r"""
import demos_maas as dm
uuid = "%s"
with dm.Client("maas://" + uuid, timeout=30) as c:
    m = c.model("decay")
    assert m.version == "1.0.0", m.version
    print("latest", float(m.evaluate([100.0, 0.3]).ravel()[0]))
with dm.Client("maas://" + uuid + "@1.0.0", timeout=30) as c:
    print("pinned", float(c.model(uuid).evaluate([100.0, 0.3]).ravel()[0]))
try:
    dm.Client("maas://" + uuid + "@9.9.9")
except dm.NotFound as e:
    print("unknown version:", e)
try:
    dm.Client("maas://not-a-uuid")
except dm.InvalidArgument as e:
    print("malformed:", e)
""" % DECAY_UUID


def test_a_maas_uri_resolves_to_the_referenced_endpoint(tmp_path):
    tool = maas_tool()
    s = dm.Server({"listen": ["tcp://127.0.0.1:0"], "log_level": "error"})
    s.register_example("decay").start()
    try:
        reference = tmp_path / "decay.json"
        made = subprocess.run(tool + ["ref", "new", s.endpoints[0], "--model", "decay", "-o", str(reference)],
                              capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stdout + made.stderr
        env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, DEMOS_MAAS_LIBRARY=lib._name, MAAS_REGISTRY=str(reference))
        result = subprocess.run([sys.executable, "-c", CLIENT], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        latest = float(lines[0].split()[1])
        assert latest == float(lines[1].split()[1]) and latest > 0
        assert "no reference" in lines[2].lower() and "9.9.9" in lines[2]
        assert "not-a-uuid" in lines[3]
    finally:
        s.close()
