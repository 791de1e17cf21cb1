#!/usr/bin/env bash
# Serves my_model.py with the binding and library of this checkout: ./serve.sh [listen-uri ...]
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
root="${DEMOS_MAAS_ROOT:-$here/../..}"
export DEMOS_MAAS_LIBRARY="${DEMOS_MAAS_LIBRARY:-${DEMOS_MAAS_LIBRARY_DIR:-$root/build/native}/libdemos_maas.so}"
# The system interpreter: Debian's python3-numpy is installed for it, not for a pyenv or conda python3.
exec "${PYTHON:-/usr/bin/python3}" "$here/my_model.py" "$@"
