#!/usr/bin/env bash
# Regenerates the cross-process benchmark report: builds the C floors, a C UM-Bridge client, the
# maas tool (JIT and NativeAOT) and the driver, runs every transport × batch × concurrency with
# client and server in separate processes and the floors in the same run (and UM-Bridge's
# /Evaluate of the HTTP listener, against UM-Bridge's reference Python server too where
# /usr/bin/python3 can import the umbridge package and aiohttp: pip install umbridge, or
# PYTHONPATH=<checkout of github.com/UM-Bridge/umbridge> with python3-aiohttp), then rewrites the
# generated section of docs/benchmarks.md, docs/images/cross-process.png and
# benchmarks/cross-process/{raw.txt,results.json}.
# Takes about twenty minutes on 2 cores; --quick runs a tenth of the calls (for trying it out).
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/cross-process
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$bin/pingpong" benchmarks/floors/pingpong.c
gcc -O2 -Wall -Wextra -Werror -o "$bin/http_responder" benchmarks/floors/http_responder.c
gcc -O2 -Wall -Wextra -Werror -o "$bin/umbridge_evaluate" benchmarks/clients/umbridge_evaluate.c
reference=()
if /usr/bin/python3 -c 'import umbridge, aiohttp' 2>/dev/null; then
  reference=(--umbridge-reference benchmarks/umbridge/time-reference-server.sh)
else
  echo "UM-Bridge's reference server is left out: /usr/bin/python3 cannot import umbridge and aiohttp" >&2
fi
dotnet build src/Demos.Maas.Cli -c Release -v quiet -nologo
dotnet publish src/Demos.Maas.Cli -c Release -r linux-x64 -p:PublishAot=true -o "$bin/maas-aot" -v quiet -nologo > "$bin/publish.txt"
dotnet build benchmarks/Demos.Maas.CrossProcess -c Release -v quiet -nologo
dotnet benchmarks/Demos.Maas.CrossProcess/bin/Release/net10.0/Demos.Maas.CrossProcess.dll report \
  --maas src/Demos.Maas.Cli/bin/Release/net10.0/maas.dll --maas-aot "$bin/maas-aot/maas" --pingpong "$bin/pingpong" --umbridge-client "$bin/umbridge_evaluate" --http-responder "$bin/http_responder" "${reference[@]}" \
  --out "$out" --doc docs/benchmarks.md --image docs/images/cross-process.png "$@"
