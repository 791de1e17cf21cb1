#!/usr/bin/env bash
# Installs the system packages the build and the tests use, only those that are missing (Debian).
# Called by run-tests.sh; needs root (or nothing missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if ! command -v dotnet >/dev/null; then
  echo "dotnet SDK missing: this project needs the .NET 10 SDK that the machine image provides." >&2
  exit 1
fi

# System packages the build and tests use, installed only when missing: podman and runc (container
# test); Open MPI (mpicc builds the MPI transport's shim; mpirun runs the MPI tests).
need=()
# Slurm and munge: the scale-out test starts a single-node Slurm cluster of its own (deploy/slurm/local-cluster.sh).
for tool in podman:podman runc:runc mpirun:openmpi-bin mpicc:libopenmpi-dev cmake:cmake make:make g++:g++ gfortran:gfortran sbatch:slurm-wlm slurmctld:slurm-wlm slurmd:slurm-wlm munged:munge; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
done
# Libraries and Python modules the bindings' tests use (GoogleTest, numpy, pytest for /usr/bin/python3;
# pip and setuptools for the offline `pip install bindings/python` test).
[ -e /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
# PostgreSQL server binaries (initdb, pg_ctl) for the registry's store tests, which start their own
# server in a temporary directory; the package's own cluster service is not used.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Headless Chromium renders the registry's web page in its test (a real browser, a real screenshot).
command -v chromium >/dev/null || need+=(chromium)
# A font for the text of `maas bench --plot` pictures (SkiaSharp finds the system's fonts).
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
/usr/bin/python3 -c "import numpy" 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c "import pytest" 2>/dev/null || need+=(python3-pytest)
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
/usr/bin/python3 -c "import setuptools" 2>/dev/null || need+=(python3-setuptools)
# The neutrino fit example (emcee through the Python binding) and its corner plot.
/usr/bin/python3 -c "import emcee" 2>/dev/null || need+=(python3-emcee)
/usr/bin/python3 -c "import matplotlib" 2>/dev/null || need+=(python3-matplotlib)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

# nginx (reverse-proxy test) and python3-requests (UM-Bridge tests), without starting nginx's own service.
if [ ! -x /usr/sbin/nginx ] || ! /usr/bin/python3 -c "import requests" 2>/dev/null; then
  bash tests/Demos.Maas.Transports.Http.Tests/Scripts/install-ci-deps.sh
fi
