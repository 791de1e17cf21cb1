#!/usr/bin/env bash
# CPU work per 1-point shm:// call on each side, from perf samples.
#
#   benchmarks/cross-process/work-per-call.sh [BUILD_DIR]
#
# Serves gaussian1d on shm:// from BUILD_DIR/maas.dll (default: the Release build), runs
# `maas bench` against it with one caller, and samples both processes for 3 s with `perf record`.
# A sample counts as work when its stack holds the protocol's read loop or a resumed caller (the
# rest is the receiving threads waiting for the peer). Work per call = work samples / sampling
# rate / (calls per second x 3 s). The waiting is what varies most between runs on a virtual
# machine; the work per call varies less, so it shows changes to the call path that the p50 hides.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-src/Demos.Maas.Cli/bin/Release/net10.0}
command -v perf > /dev/null || { echo "perf is required (apt-get install linux-perf)" >&2; exit 1; }
[ -f "$build/maas.dll" ] || { echo "no maas.dll in $build: build it (dotnet build src/Demos.Maas.Cli -c Release) or pass the directory that has it" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $server 2> /dev/null || true; rm -rf "$work"' EXIT
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
name=work-per-call-$$
rate_hz=5000
dotnet "$build/maas.dll" serve --model gaussian1d -l "shm://$name" --log-level Warning > "$work/server.txt" 2>&1 &
server=$!
sleep 1.5
dotnet "$build/maas.dll" bench "shm://$name" gaussian1d --batch 1 --concurrency 1 --requests 3000000 --warmup-seconds 3 --json > "$work/bench.json" &
client=$!
sleep 5
perf record -F $rate_hz -g -p $server -o "$work/server.data" -- sleep 3 > /dev/null 2>&1 &
recording=$!
perf record -F $rate_hz -g -p $client -o "$work/client.data" -- sleep 3 > /dev/null 2>&1
wait $recording
wait $client
calls_per_second=$(grep -o '"requests_per_second": *[0-9.]*' "$work/bench.json" | sed 's/.*: *//')
p50=$(grep -o '"p50_us": *[0-9.]*' "$work/bench.json" | sed 's/.*: *//')
for side in server client; do
  perf script -i "$work/$side.data" -F comm,ip,sym 2> /dev/null | /usr/bin/python3 -c '
import sys
work = total = 0
frames, started = [], False
def end():
    global work, total
    if started:
        total += 1
        if any("ReadLoopAsync" in f or "RunContinuations" in f for f in frames):
            work += 1
for line in sys.stdin:
    if not line.strip():
        end(); frames, started = [], False
    elif not line[0].isspace():
        started = True
    else:
        frames.append(line)
end()
print(work, total)' > "$work/$side.txt"
done
read -r server_work server_total < "$work/server.txt"
read -r client_work client_total < "$work/client.txt"
/usr/bin/python3 - "$p50" "$calls_per_second" "$rate_hz" "$server_work" "$server_total" "$client_work" "$client_total" <<'PY'
import sys
p50, rate, hz, sw, st, cw, ct = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), *map(int, sys.argv[4:])
per_call = lambda samples: samples / hz / (rate * 3) * 1e9
print(f"p50 {p50} us, {rate:,.0f} calls/s; work per call: server {per_call(sw):.0f} ns ({100 * sw / st:.0f} % of its samples), client {per_call(cw):.0f} ns ({100 * cw / ct:.0f} %)")
PY
