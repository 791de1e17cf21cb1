#!/usr/bin/env bash
# Builds one image per physics model from deploy/domain-models/Containerfile (run from the
# repository root; needs the base images of the Containerfile, i.e. a registry or a local mirror).
#   deploy/domain-models/build-images.sh [podman|docker]
set -euo pipefail
engine=${1:-podman}
build() { "$engine" build -f deploy/domain-models/Containerfile "$@" .; }
for model in neutrino-oscillation neutrino-fit cosmic-ray-propagation three-pion-decay; do
  build --build-arg MODEL="$model" -t "maas-$model:1.0.0"
done
build --build-arg MODEL=structure-factor --build-arg SOURCE=structure_factor.f90 --build-arg COMPILER=gfortran -t maas-structure-factor:1.0.0
build --build-arg MODEL=nuclear-force --build-arg SOURCE=nuclear_force.cpp --build-arg COMPILER=g++ -t maas-nuclear-force:1.0.0
