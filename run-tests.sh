#!/usr/bin/env bash
# Installs missing system packages (scripts/install-test-deps.sh), builds everything (warnings are
# errors), publishes the NativeAOT check, runs every test suite, and ends with one line
# "N passed, N failed" summed over all suites.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

passed=0
failed=0
status=0
log=$(mktemp -d)

step() { echo; echo "== $*"; }

step "system packages the tests use (installed when missing)"
if ! scripts/install-test-deps.sh; then
  echo "could not install the test dependencies"; echo "0 passed, 1 failed"; exit 1
fi

step "restore and build (Release, warnings as errors)"
if ! dotnet build Demos.Maas.Core.sln -c Release 2>&1 | tee "$log/build.txt" | grep -E "error|warn|Build succeeded|Time Elapsed"; then :; fi
if ! grep -q "Build succeeded" "$log/build.txt" || grep -qE "[1-9][0-9]* Error\(s\)" "$log/build.txt"; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

step "NativeAOT check: publish with every library rooted (any trim/AOT warning fails), then run it"
if dotnet publish tests/Demos.Maas.AotCheck -c Release -o "$log/aot" > "$log/aot.txt" 2>&1 \
   && ! grep -qiE "warning|error" "$log/aot.txt" && "$log/aot/Demos.Maas.AotCheck"; then
  echo "AOT check passed"; passed=$((passed + 1))
else
  cat "$log/aot.txt"; echo "AOT check FAILED"; failed=$((failed + 1)); status=1
fi

step "NativeAOT maas tool: publish (any trim/AOT warning fails); the container test uses this binary"
if dotnet publish src/Demos.Maas.Cli -c Release -r linux-x64 -p:PublishAot=true -o "$log/maas-aot" > "$log/maas-aot.txt" 2>&1 \
   && ! grep -qiE "warning|error" "$log/maas-aot.txt" && "$log/maas-aot/maas" --help > /dev/null; then
  echo "maas NativeAOT publish passed ($(du -h "$log/maas-aot/maas" | cut -f1), needs: $(ldd "$log/maas-aot/maas" | grep -oE '^\s*[^ ]+' | tr -d '\t' | tr '\n' ' '))"
  passed=$((passed + 1))
  export MAAS_AOT_BINARY="$log/maas-aot/maas"
else
  cat "$log/maas-aot.txt"; echo "maas NativeAOT publish FAILED"; failed=$((failed + 1)); status=1
fi

step "dotnet test (xunit + FsCheck: unit, properties, end-to-end over inproc, pipe, tcp, real processes)"
dotnet test Demos.Maas.Core.sln -c Release --no-build --logger "console;verbosity=minimal" > "$log/test.txt" 2>&1
test_status=$?
grep -vE "^\s*$" "$log/test.txt" | head -300
while read -r f p; do
  passed=$((passed + p)); failed=$((failed + f))
done < <(grep -E "(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+" "$log/test.txt" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+).*/\1 \2/')
if [ $test_status -ne 0 ]; then
  status=1
  if ! grep -qE "(Passed|Failed)! +- " "$log/test.txt"; then tail -50 "$log/test.txt"; failed=$((failed + 1)); fi
fi

step "native library and bindings: C, C++ (ctest), Python (pytest), Fortran, cross-language matrix"
bindings/run-tests.sh > "$log/bindings.txt" 2>&1; bstatus=$?
tail -40 "$log/bindings.txt"
read -r bp bf < <(sed -nE 's/^bindings: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log/bindings.txt")
passed=$((passed + ${bp:-0})); failed=$((failed + ${bf:-1}))
if [ "$bstatus" -ne 0 ]; then status=1; fi

echo
echo "$passed passed, $failed failed"
if [ $failed -ne 0 ]; then status=1; fi
exit $status
