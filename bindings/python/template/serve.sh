#!/usr/bin/env bash
# Serves my_model.py with the binding and library of this checkout: ./serve.sh [listen-uri ...]
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
export DEMOS_MAAS_LIBRARY="${DEMOS_MAAS_LIBRARY:-$here/../../build/native/libdemos_maas.so}"
exec /usr/bin/python3 "$here/my_model.py" "$@"
