#!/usr/bin/env bash
# Runs a command with the settings of the running `local_services` fixture in its environment
# (CDCFLOW_PG_PORT, CDCFLOW_KAFKA_BROKERS, CDCFLOW_CONNECT_URL, CDCFLOW_OPENSEARCH_URL, ... see
# services_fixture.sh). Usage: with_services_env.sh COMMAND [ARGS...]
set -euo pipefail
env_file=${CDCFLOW_TEST_LOCAL_DIR:?set by tests/integration/CMakeLists.txt}/test-env.sh
if [[ ! -f $env_file ]]; then
  echo "with_services_env: $env_file is missing: the services_start fixture did not run" >&2
  exit 1
fi
# shellcheck disable=SC1090
source "$env_file"
exec "$@"
