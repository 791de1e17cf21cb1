#!/usr/bin/env bash
# A single-node Slurm cluster for tests and benchmarks, from Debian's slurm-wlm and munge packages:
# munged with a generated key, slurmctld and slurmd with a generated slurm.conf, all state, spool,
# sockets and logs under one directory. Needs root (slurmd runs jobs as their submitting user).
#
#   deploy/slurm/local-cluster.sh start DIR [CPUS]   # prints "export SLURM_CONF=DIR/slurm.conf"
#   deploy/slurm/local-cluster.sh stop DIR           # stops the daemons it started and deletes DIR
#
# The node is called after `hostname -s`, has CPUS cores (default: nproc) and oversubscribes
# (OverSubscribe=FORCE:4), so four one-core servers fit on two cores. Not for production: no
# accounting, no cgroups (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # the daemons live in sbin

usage() { echo "usage: $0 start DIR [CPUS] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2

start() {
  local cpus=${1:-$(nproc)}
  for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install slurm-wlm munge" >&2; exit 3; }
  done
  mkdir -p "$dir"/{munge,state,spool,log}
  chmod 700 "$dir" "$dir/munge"
  dir=$(cd "$dir" && pwd)
  local node port_base
  node=$(hostname -s)
  # Ports from the directory's name, so that two clusters on one machine do not collide, and below
  # the kernel's range for outgoing connections: a client socket elsewhere could hold one of those
  # ("Unable to bind listen port: Address already in use").
  local ephemeral_low span
  ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  span=$(( ephemeral_low - 2 - 20000 ))
  [ "$span" -ge 1000 ] || span=10000
  port_base=$(( 20000 + $(printf '%s' "$dir" | cksum | cut -d' ' -f1) % span ))

  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"

  cat > "$dir/slurm.conf" <<CONF
ClusterName=maas-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port_base
SlurmdPort=$((port_base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
KillWait=30
InactiveLimit=0
MinJobAge=30
SchedulerType=sched/backfill
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  # Ready when the node is idle (or mixed, when something already runs).
  for _ in $(seq 1 120); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true)
    case "$state" in
      idle|mixed|allocated) echo "export SLURM_CONF=$SLURM_CONF"; return 0 ;;
    esac
    sleep 0.5
  done
  echo "the node did not become idle (state: ${state:-none}); logs in $dir/log" >&2
  tail -n 20 "$dir"/log/*.log >&2 || true
  exit 4
}

stop() {
  [ -d "$dir" ] || return 0
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if [ -s "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}

case "$action" in
  start) start "${3:-}" ;;
  stop) stop ;;
  *) usage ;;
esac
