#!/usr/bin/env bash
# Native-client benchmarks: one C# server (maas serve, gaussian2d), the C#, Python and C++ clients in
# turn, same run, over pipe and tcp.  Run bindings/run-tests.sh first (it builds everything used here).
#   bindings/bench/run-bench.sh [seconds-per-phase]
set -euo pipefail
cd "$(dirname "$0")/.."
bindings=$(pwd)
seconds=${1:-3}
export DEMOS_MAAS_LIBRARY="$bindings/build/native/libdemos_maas.so" PYTHONPATH="$bindings/python"
sock=$(mktemp -d)/bench.sock
dotnet "$bindings/../src/Demos.Maas.Cli/bin/Release/net10.0/maas.dll" serve --model gaussian2d --log-level Warning \
  --listen "pipe://$sock" --listen tcp://127.0.0.1:0 > "$bindings/build/bench-server.txt" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q serving "$bindings/build/bench-server.txt" 2>/dev/null && break; sleep 0.1; done
for uri in $(grep '^listening' "$bindings/build/bench-server.txt" | awk '{print $2}'); do
  echo "== $uri (gaussian2d, d = 2, ${seconds}s per phase)"
  dotnet "$bindings/dotnet/MatrixClient/bin/Release/net10.0/maas-matrix-client.dll" bench "$uri" gaussian2d 2 "$seconds"
  /usr/bin/python3 "$bindings/python/examples/bench_client.py" "$uri" gaussian2d 2 "$seconds"
  "$bindings/build/cpp/bench_client" "$uri" gaussian2d 2 "$seconds"
done
