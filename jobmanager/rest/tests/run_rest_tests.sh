#!/usr/bin/env bash
# Creates (once) a venv with the pinned test packages under the user's cache directory
# (not the system pip) and runs rest_conformance_test.py (or `--script NAME.py`) with the
# given arguments.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="${CDCFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cdcflow}/venv-rest-tests"
stamp="$venv/.requirements"
if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi
script="$here/rest_conformance_test.py"
if [[ "${1:-}" == "--script" ]]; then  # another test of this folder, same venv
  script="$here/$2"
  shift 2
fi
exec "$venv/bin/python" "$script" "$@"
