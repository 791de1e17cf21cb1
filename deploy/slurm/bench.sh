#!/usr/bin/env bash
# Scale-out benchmark under Slurm: a model that keeps one core busy 10 ms per call (busy:10) served by
# 1, 2 and 4 servers of a `maas slurm up` job array, called through one load-spreading client
# (maas+lb://?e=maas://UUID, resolved through a registry); then the overhead of the load-spreading
# client against a direct connection to one server. Starts a single-node cluster of its own
# (deploy/slurm/local-cluster.sh; root, slurm-wlm and munge) unless SLURM_CONF is set.
#
#   dotnet build src/Demos.Maas.Cli -c Release
#   deploy/slurm/bench.sh [OUTPUT]        # default benchmarks/bench-scaleout.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-benchmarks/bench-scaleout.txt}
maas=(dotnet "$PWD/src/Demos.Maas.Cli/bin/Release/net10.0/maas.dll")
requests=${BENCH_REQUESTS:-600}
work=$(mktemp -d /tmp/maas-bench-XXXXXX)
registry_pid=""
own_cluster=""
cleanup() {
  [ -n "${job:-}" ] && scancel "$job" 2>/dev/null || true
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  [ -n "$own_cluster" ] && deploy/slurm/local-cluster.sh stop "$work/cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${SLURM_CONF:-}" ]; then
  eval "$(deploy/slurm/local-cluster.sh start "$work/cluster")"
  own_cluster=1
fi
export SLURM_CONF

eval "$("${maas[@]}" registry key | awk '/^key/{print "export MAAS_REGISTRY_KEY=" $2} /^hash/{print "hash=\x27" $2 "\x27"}')"
"${maas[@]}" registry serve --listen http://127.0.0.1:0 --store "$work/registry.db" --key-hash "$hash" > "$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do grep -q '^listening' "$work/registry.log" && break; sleep 0.1; done
registry=$(awk '/^listening/{print $2}' "$work/registry.log")
registry=${registry%/}
export MAAS_REGISTRY=$registry
mkdir -p "$work/out"

{
  echo "# deploy/slurm/bench.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(sinfo --version)"
  echo "# model busy:10 (10 ms of CPU per call, y = 2x), batch 1, $requests measured calls per row"
  echo "# other work on the machine is not stopped: each section gives the load average when it starts"
} > "$out"
load() { echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out"; }

up() { # servers model
  local text
  text=$("${maas[@]}" slurm up --model "$2" --servers "$1" --registry "$registry" --host 127.0.0.1 --output "$work/out" --drain-seconds 2 --wait-seconds 120)
  job=$(sed -n 's/^submitted job \([0-9]*\).*/\1/p' <<< "$text")
  uuid=$(sed -n 's/^submitted job [0-9]*: .*(\([0-9a-f-]*\)).*/\1/p' <<< "$text")
}
down() {
  scancel "$job"
  while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do sleep 0.2; done
  job=""
}

for servers in 1 2 4; do
  up "$servers" busy:10
  echo "## $servers server(s), job $job: maas bench 'maas+lb://?e=maas://$uuid' busy:10 --batch 1 --concurrency 1,2,4,8" >> "$out"
  load
  "${maas[@]}" bench "maas+lb://?e=maas://$uuid" busy:10 --batch 1 --concurrency 1,2,4,8 --requests "$requests" --warmup 40 >> "$out"
  down
done

# Overhead of the load-spreading client: the same single server, direct and through maas+lb,
# alternated twice so that a change of the machine's load does not favour one.
for model in busy:10 gaussian1d; do
  up 1 "$model"
  server=$(awk '/^listening tcp/{print $2; exit}' "$work"/out/maas-"$job"_0.out)
  n=$requests; [ "$model" = gaussian1d ] && n=$((requests * 50))
  for round in 1 2; do
    echo "## overhead, $model, one server, round $round: direct $server" >> "$out"
    load
    "${maas[@]}" bench "$server" "$model" --batch 1 --concurrency 1,8 --requests "$n" --warmup 200 >> "$out"
    echo "## overhead, $model, the same server, round $round, through maas+lb://?e=maas://$uuid" >> "$out"
    load
    "${maas[@]}" bench "maas+lb://?e=maas://$uuid" "$model" --batch 1 --concurrency 1,8 --requests "$n" --warmup 200 >> "$out"
  done
  down
done
cat "$out"
