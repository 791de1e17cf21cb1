#!/usr/bin/env bash
# Packs every Demos.Maas package (the libraries and the maas .NET tool) into one folder, which then
# serves as a local NuGet feed:
#
#   scripts/pack-feed.sh ~/maas-feed            # version from Directory.Build.props
#   scripts/pack-feed.sh ~/maas-feed 0.1.0-dev  # another version
#   dotnet nuget add source ~/maas-feed --name maas-local
#   dotnet add package Demos.Maas.Core
#   dotnet tool install --global Demos.Maas.Cli   # puts `maas` on PATH (~/.dotnet/tools)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
feed=$(realpath -m "${1:-$root/feed}")
version=("${2:+-p:Version=$2}")
[ -z "${2:-}" ] && version=()

# Packed from a copy of the sources: packing builds every project again (with the version given),
# and the checkout's own build output, which tests and a running `maas` use, must not change
# under them.
copy=$(mktemp -d /tmp/maas-pack-src-XXXXXX)
trap 'rm -rf "$copy"' EXIT
tar -C "$root" --exclude='*/bin' --exclude='*/obj' -cf - src Directory.Build.props Directory.Packages.props nuget.config LICENSE README.md \
  | tar -C "$copy" -xf -

mkdir -p "$feed"
for project in "$copy"/src/*/*.csproj; do
  # Projects with IsPackable=false (the NativeAOT library) produce nothing.
  dotnet pack "$project" -c Release -o "$feed" "${version[@]}" --nologo -v quiet
done
ls "$feed"/*.nupkg
