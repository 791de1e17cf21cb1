#!/usr/bin/env bash
# shm:// before and after a change, in alternating turns of one run: builds shm-pingpong and the
# maas tool from BASE (a commit, checked out in a temporary worktree) and from this checkout, then
# runs, three turns each, the byte ping-pong through a MaasConnection (64 B and 512 KiB) and
# `maas bench` of gaussian1d at 1 and 65,536 points against `maas serve` (client and server in
# separate processes, the same build for both).
# Usage: benchmarks/bench-shm-inplace.sh BASE > benchmarks/bench-shm-inplace.txt
set -euo pipefail
cd "$(dirname "$0")/.."
base_commit=${1:?usage: benchmarks/bench-shm-inplace.sh BASE-COMMIT}
before=$(mktemp -d)
git worktree add --detach "$before/src" "$base_commit" > /dev/null 2>&1
trap 'git worktree remove --force "$before/src"; rm -rf "$before"' EXIT
for tree in "$before/src" .; do
  dotnet build "$tree/src/Demos.Maas.Cli" -c Release -v q -nologo > /dev/null
  dotnet build "$tree/benchmarks/Demos.Maas.ShmPingPong" -c Release -v q -nologo > /dev/null
done
echo "# $(nproc) cores, $(uname -srm), .NET $(dotnet --version), $(date -u '+%F %T') UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# before: $(git rev-parse --short "$base_commit"), after: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + uncommitted changes')"

bench() { # tree batch requests warmup
  local maas="dotnet $1/src/Demos.Maas.Cli/bin/Release/net10.0/maas.dll" sock
  sock=/tmp/maas-inplace-$$-$RANDOM.sock
  $maas serve --listen "shm://$sock" --model gaussian1d --log-level Warning &
  local server=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  $maas bench "shm://$sock" gaussian1d --batch "$2" --concurrency 1 --requests "$3" --warmup "$4" | tail -1
  kill $server; wait $server 2> /dev/null || true
}

for turn in 1 2 3; do
  for side in before after; do
    tree=.; [ $side = before ] && tree="$before/src"
    echo "## turn $turn, $side: shm-pingpong"
    "$tree/benchmarks/Demos.Maas.ShmPingPong/bin/Release/net10.0/shm-pingpong"
    echo "## turn $turn, $side: maas bench gaussian1d, 1 point and 65,536 points"
    bench "$tree" 1 20000 2000
    bench "$tree" 65536 1000 100
  done
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
