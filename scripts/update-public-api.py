#!/usr/bin/python3
"""Brings every library's PublicAPI.Unshipped.txt in line with its code.

Builds the solution with the public-API diagnostics as warnings, then adds each symbol RS0016 reports
(public but undeclared) and removes each RS0017 reports (declared but gone). Review the diff: every
line is a change of the public API. Usage: scripts/update-public-api.py (from anywhere).
"""
import collections
import os
import re
import subprocess

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = subprocess.run(
    ["dotnet", "build", os.path.join(root, "Demos.Maas.Core.sln"), "-c", "Release", "--no-incremental", "-p:TreatWarningsAsErrors=false"],
    capture_output=True, text=True).stdout
add, remove = collections.defaultdict(set), collections.defaultdict(set)
for line in out.splitlines():
    m = re.search(r"RS0016: Symbol '(.*)' is not part of the declared public API .*\[(.*)/[^/]+\.csproj\]", line)
    if m:
        add[m.group(2)].add(m.group(1))
    m = re.search(r"RS0017: Symbol '(.*)' is part of the declared API, but .*\[(.*)/[^/]+\.csproj\]", line)
    if m:
        remove[m.group(2)].add(m.group(1))


def key(symbol):
    return re.sub(r"^(~|static |override |abstract |virtual |const |readonly )+", "", symbol), symbol


for project in sorted(set(add) | set(remove)):
    path = os.path.join(project, "PublicAPI.Unshipped.txt")
    lines = [l for l in open(path).read().splitlines()[1:] if l and l not in remove[project]]
    symbols = sorted(set(lines) | add[project], key=key)
    with open(path, "w") as f:
        f.write("#nullable enable\n" + "".join(s + "\n" for s in symbols))
    print(f"{os.path.relpath(path, root)}: +{len(add[project])} -{len(remove[project])}")
