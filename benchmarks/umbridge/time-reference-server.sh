#!/usr/bin/env bash
# Times UM-Bridge's reference Python server (the umbridge package's serve_models, serving
# gaussian_reference.py's gaussian1d) with the C keep-alive client the report also runs against
# our /Evaluate route, and prints the client's line: "p50_us p99_us calls_per_second".
#
#   time-reference-server.sh CLIENT ROUNDS WARMUP_SECONDS [keep-alive|close]
#
# serve_models takes a port but no address and listens on every interface, so the server and the
# client run in a network namespace of their own whose only interface is loopback: nothing outside
# this machine can reach the server. Exit 2 with one line on stderr when the umbridge package is
# missing, the server does not come up, or the client fails.
set -euo pipefail
if [ $# -ne 3 ] && [ $# -ne 4 ]; then echo "usage: time-reference-server.sh CLIENT ROUNDS WARMUP_SECONDS [keep-alive|close]" >&2; exit 2; fi
client=$(realpath "$1") rounds=$2 warmup=$3 mode=${4:-keep-alive}
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c 'import umbridge, aiohttp' 2>/dev/null; then
  echo "time-reference-server.sh: $python cannot import umbridge and aiohttp (pip install umbridge, or PYTHONPATH=<checkout of github.com/UM-Bridge/umbridge>)" >&2
  exit 2
fi
if [ "$(id -u)" -eq 0 ]; then ns=(unshare --net); else ns=(unshare --net --map-root-user); fi
exec "${ns[@]}" bash -c '
  set -euo pipefail
  ip link set lo up
  port=4242
  "$1" "$2/gaussian_reference.py" $port > /dev/null 2>&1 &
  server=$!
  trap "kill $server 2>/dev/null; wait $server 2>/dev/null || true" EXIT
  for _ in $(seq 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then break; fi
    if ! kill -0 $server 2>/dev/null; then echo "time-reference-server.sh: the reference server exited before listening" >&2; exit 2; fi
    sleep 0.1
  done
  "$3" $port gaussian1d "$4" "$5" "$6"
' bash "$python" "$here" "$client" "$rounds" "$warmup" "$mode"
