#!/usr/bin/env bash
# shm:// against pipe:// and tcp:// across two processes, in one run: `maas serve` hosts gaussian1d
# on all three, `maas bench` calls each in turn (three rounds, 1 point), then batch 65,536; then the
# transports' own floor (shm-pingpong: a byte ping-pong through a MaasConnection, and memcpy).
# Usage: benchmarks/bench-shm.sh > benchmarks/bench-shm.txt
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Demos.Maas.Cli -c Release -v q -nologo > /dev/null
dotnet build benchmarks/Demos.Maas.ShmPingPong -c Release -v q -nologo > /dev/null
maas="dotnet src/Demos.Maas.Cli/bin/Release/net10.0/maas.dll"
sock=/tmp/maas-bench-shm-$$.sock
echo "# $(nproc) cores, $(uname -srm), .NET $(dotnet --version), $(date -u '+%F %T') UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
$maas serve --listen shm://bench-shm-$$ --listen "pipe://$sock" --listen tcp://127.0.0.1:47613 --model gaussian1d --log-level Warning &
server=$!
trap 'kill $server' EXIT
sleep 3
for round in 1 2 3; do
  echo "## 1 point, round $round"
  for uri in shm://bench-shm-$$ "pipe://$sock" tcp://127.0.0.1:47613; do
    $maas bench "$uri" gaussian1d --batch 1 --concurrency 1 --requests 20000 --warmup 2000
  done
done
echo "## batch 65,536"
for uri in shm://bench-shm-$$ "pipe://$sock" tcp://127.0.0.1:47613; do
  $maas bench "$uri" gaussian1d --batch 65536 --concurrency 1 --requests 500 --warmup 50
done
echo "## transport floor: byte ping-pong through a MaasConnection, two processes; memcpy in one"
benchmarks/Demos.Maas.ShmPingPong/bin/Release/net10.0/shm-pingpong
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
