#!/usr/bin/env bash
# Two builds of `maas` compared on UM-Bridge /Evaluate, both served at once.
#
#   benchmarks/umbridge/ab-evaluate.sh BUILD_DIR_A BUILD_DIR_B [ROUNDS]
#
# Each BUILD_DIR holds maas.dll (e.g. src/Demos.Maas.Cli/bin/Release/net10.0 of two worktrees).
# Both serve gaussian1d on http://127.0.0.1 at the same time; the report's C client
# (benchmarks/clients/umbridge_evaluate.c, one keep-alive connection, blocking reads) then makes
# 10,000 calls against A, then against B, ROUNDS times (default 12). On this virtual machine a
# run's p50 moves by several microseconds from one minute to the next whatever the build, so
# runs that alternate within seconds are compared: the script prints each run's p50 (µs), the
# medians, and in how many rounds B was faster.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR_A BUILD_DIR_B [ROUNDS]" >&2; exit 2; }
a=$1 b=$2 rounds=${3:-12}
for build in "$a" "$b"; do
  [ -f "$build/maas.dll" ] || { echo "no maas.dll in $build: build it (dotnet build src/Demos.Maas.Cli -c Release) or pass the directory that has it" >&2; exit 2; }
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a whole number of at least 1, not '$rounds'" >&2; exit 2; }
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true; rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$work/umbridge_evaluate" benchmarks/clients/umbridge_evaluate.c

ports=()
for build in "$a" "$b"; do
  log="$work/server-${#ports[@]}.txt"
  dotnet "$build/maas.dll" serve --model gaussian1d --listen http://127.0.0.1:0 --log-level Warning > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening ' "$log" && break; sleep 0.1; done
  uri=$(grep -m1 '^listening ' "$log" | cut -d' ' -f2) || { cat "$log" >&2; exit 1; }
  port=${uri##*:}
  ports+=("${port%%/*}")
done

for port in "${ports[@]}"; do "$work/umbridge_evaluate" "$port" gaussian1d 20000 2 keep-alive > /dev/null; done
p50s=("" "")
for _ in $(seq "$rounds"); do
  for i in 0 1; do
    p50s[i]+="$("$work/umbridge_evaluate" "${ports[i]}" gaussian1d 10000 0.3 keep-alive | cut -d' ' -f1) "
  done
done
/usr/bin/python3 - "${p50s[0]}" "${p50s[1]}" <<'PY'
import statistics, sys
a, b = ([float(x) for x in arg.split()] for arg in sys.argv[1:3])
print("A p50 us:", " ".join(f"{x:.2f}" for x in a))
print("B p50 us:", " ".join(f"{x:.2f}" for x in b))
print(f"median A {statistics.median(a):.2f} us, B {statistics.median(b):.2f} us; B faster in {sum(y < x for x, y in zip(a, b))} of {len(a)} rounds")
PY
