#!/usr/bin/env bash
# Publishes libdemos_maas.so (NativeAOT), builds the C/C++/Fortran parts, runs every binding suite
# (C ABI + C++ GoogleTest via ctest, Fortran, pytest) and the cross-language matrix, and ends with
# exactly one line "bindings: N passed, M failed".  Exit status is non-zero on any failure.
# Needs: .NET SDK, cmake, g++, gfortran, GoogleTest (libgtest-dev), python3-numpy, python3-pytest
# (Debian: apt-get install -y cmake g++ gfortran libgtest-dev python3-numpy python3-pytest python3-pip
# python3-setuptools).
set -uo pipefail
cd "$(dirname "$0")"
bindings=$(pwd)
root=$(cd .. && pwd)
build="$bindings/build"
native="$build/native"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export DEMOS_MAAS_LIBRARY="$native/libdemos_maas.so"
python=/usr/bin/python3
passed=0
failed=0
mkdir -p "$build"
log="$build/logs"
rm -rf "$log" && mkdir -p "$log"

step() { echo; echo "== $*"; }
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
finish() { echo; echo "bindings: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

step "publish libdemos_maas.so (NativeAOT, warnings are errors)"
if dotnet publish "$root/src/Demos.Maas.Native" -c Release -o "$native" > "$log/publish.txt" 2>&1 \
   && ! grep -qE "warning|error" "$log/publish.txt" && [ -f "$native/libdemos_maas.so" ]; then
  echo "published $native/libdemos_maas.so ($(du -h "$native/libdemos_maas.so" | cut -f1))"; count 1 0
else
  tail -40 "$log/publish.txt"; echo "publish FAILED"; count 0 1; finish
fi

step "ldd: the library needs only libc, libm and the loader"
deps=$(ldd "$native/libdemos_maas.so")
echo "$deps"
if ! echo "$deps" | awk '{print $1}' | grep -vqE '^(linux-vdso\.so|libc\.so|libm\.so|/lib64/ld-linux|ld-linux)'; then
  echo "ldd check passed"; count 1 0
else
  echo "ldd check FAILED: unexpected dependency"; count 0 1
fi

step "C ABI test and C++ GoogleTest suite (cmake + ctest)"
if cmake -S cpp -B "$build/cpp" -DCMAKE_BUILD_TYPE=Release -DDEMOS_MAAS_LIBRARY_DIR="$native" > "$log/cmake.txt" 2>&1 \
   && cmake --build "$build/cpp" -j2 >> "$log/cmake.txt" 2>&1; then
  (cd "$build/cpp" && timeout 300 ctest --output-on-failure --timeout 120) > "$log/ctest.txt" 2>&1
  grep -E "tests passed|tests failed|Failed|\*\*\*" "$log/ctest.txt" | head -40
  total=$(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\2/p' "$log/ctest.txt")
  bad=$(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/p' "$log/ctest.txt")
  if [ -n "$total" ]; then count $((total - bad)) "$bad"; else tail -30 "$log/ctest.txt"; count 0 1; fi
else
  tail -40 "$log/cmake.txt"; echo "C/C++ build FAILED"; count 0 1
fi

step "Fortran binding (gfortran)"
if make -s -C fortran LIBDIR="$native" BUILD="$build/fortran" > "$log/fortran-build.txt" 2>&1; then
  timeout 120 "$build/fortran/test_fortran" > "$log/fortran.txt" 2>&1
  cat "$log/fortran.txt" | grep -vE "^\s*$" | tail -20
  line=$(grep -E "^fortran: [0-9]+ passed, [0-9]+ failed" "$log/fortran.txt")
  if [ -n "$line" ]; then count "$(echo "$line" | awk '{print $2}')" "$(echo "$line" | awk '{print $4}')"; else count 0 1; fi
else
  tail -40 "$log/fortran-build.txt"; echo "Fortran build FAILED"; count 0 1
fi

step "Python binding (pytest under $python)"
(cd python && timeout 300 "$python" -m pytest -q -p no:cacheprovider tests) > "$log/pytest.txt" 2>&1
tail -15 "$log/pytest.txt"
summary=$(grep -E "[0-9]+ (passed|failed)" "$log/pytest.txt" | tail -1)
p=$(echo "$summary" | grep -oE "[0-9]+ passed" | grep -oE "[0-9]+"); f=$(echo "$summary" | grep -oE "[0-9]+ (failed|errors?)" | awk '{s += $1} END {print s + 0}')
if [ -n "$summary" ]; then count "${p:-0}" "${f:-0}"; else count 0 1; fi

step "cross-language matrix (real processes, pipe and tcp) and templates (build, serve, call)"
if dotnet build "$root/src/Demos.Maas.Cli" -c Release > "$log/dotnet-build.txt" 2>&1 \
   && dotnet build "$bindings/dotnet/MatrixClient" -c Release >> "$log/dotnet-build.txt" 2>&1; then
  timeout 300 "$python" matrix/run_matrix.py --bindings "$bindings" --library "$native/libdemos_maas.so" \
    --cpp-build "$build/cpp" --fortran-build "$build/fortran" \
    --dotnet-client "$bindings/dotnet/MatrixClient/bin/Release/net10.0/maas-matrix-client.dll" \
    --maas-cli "$root/src/Demos.Maas.Cli/bin/Release/net10.0/maas.dll" --templates-build "$build/templates" > "$log/matrix.txt" 2>&1
  cat "$log/matrix.txt"
  line=$(grep -E "^matrix: [0-9]+ passed, [0-9]+ failed" "$log/matrix.txt")
  if [ -n "$line" ]; then count "$(echo "$line" | awk '{print $2}')" "$(echo "$line" | awk '{print $4}')"; else count 0 1; fi
else
  tail -40 "$log/dotnet-build.txt"; echo "dotnet build of the matrix programs FAILED"; count 0 1
fi

finish
