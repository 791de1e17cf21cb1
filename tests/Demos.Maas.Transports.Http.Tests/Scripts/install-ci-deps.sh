#!/usr/bin/env bash
# External programs the HTTP interoperability tests run (they fail under CI=true when missing):
#   nginx-light       -> NginxTests (nginx started by the test on loopback with its own -p prefix)
#   python3-requests  -> UmBridgeTests (/usr/bin/python3 UM-Bridge client and conformity scripts,
#                        and the http.server-based UM-Bridge server)
# The package's own nginx service is not wanted: policy-rc.d 101 keeps apt from starting it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1; fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends nginx-light python3-requests
if [ "$created" = 1 ]; then rm -f "$policy"; fi
/usr/sbin/nginx -v
/usr/bin/python3 -c "import requests; print('requests', requests.__version__)"
