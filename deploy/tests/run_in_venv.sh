#!/usr/bin/env bash
# Runs a deployment test with the tools deploy/install-tools.sh installed (helm, the docker
# compose plugin, the Python venv with kubernetes-validate). Fails, naming the missing tool and
# the command that installs it, when they are absent: CI installs them from tests/run.sh.
# Usage: run_in_venv.sh TEST.py [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
eval "$(bash "$here/../install-tools.sh" --print-env)"
for t in "$CDCFLOW_HELM" "$DOCKER_CONFIG/cli-plugins/docker-compose" "$CDCFLOW_VENV/bin/python"; do
  [[ -x "$t" ]] || { echo "missing $t: run 'bash deploy/install-tools.sh'" >&2; exit 1; }
done
export CDCFLOW_HELM DOCKER_CONFIG CDCFLOW_VENV
exec "$CDCFLOW_VENV/bin/python" "$@"
