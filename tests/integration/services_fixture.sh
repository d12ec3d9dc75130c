#!/usr/bin/env bash
# CTest fixture `local_services`: brings up the real servers once per ctest run, fresh, on free
# loopback ports, and stops them at the end.
#   services_fixture.sh start   clean state, pick ports, start every service, load the product
#                               catalogue, register the Debezium connectors; writes the settings
#                               to $CDCFLOW_TEST_LOCAL_DIR/test-env.sh
#   services_fixture.sh stop    stops them (data and logs stay for a post-mortem)
# Tests read the settings through with_services_env.sh. CDCFLOW_TEST_LOCAL_DIR is set by
# tests/integration/CMakeLists.txt (default <build>/integration-services); CDCFLOW_TEST_PORT_BASE
# The default ports (5432, 9092/9093, 8081, 9200/9300) are used when all are free, so that a test
# reading only CDCFLOW_*_PORT defaults still finds the servers; otherwise a block from
# CDCFLOW_TEST_PORT_BASE (default 25000) on: postgres +432, kafka +92/+93, connect +81,
# opensearch +200/+300, then base+1000, +2000, ...
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL_DIR=${CDCFLOW_TEST_LOCAL_DIR:?set by tests/integration/CMakeLists.txt}
ENV_FILE=$LOCAL_DIR/test-env.sh
t0=$SECONDS
stamp() { echo "fixture [$((SECONDS - t0))s]: $*"; }

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

pick_ports() {
  local base=${CDCFLOW_TEST_PORT_BASE:-25000} i off port
  local defaults=1
  for port in 5432 9092 9093 8081 9200 9300; do
    if port_busy "$port"; then defaults=0; fi
  done
  if ((defaults)); then
    echo 0
    return 0
  fi
  for ((i = 0; i < 10; i++, base += 1000)); do
    local free=1
    for off in 432 92 93 81 200 300; do
      if port_busy $((base + off)); then free=0; fi
    done
    if ((free)); then
      echo "$base"
      return 0
    fi
  done
  echo "services_fixture: no free port block from ${CDCFLOW_TEST_PORT_BASE:-25000} on" >&2
  return 1
}

write_env() {
  local b=$1 pg kafka controller connect os os_transport
  if ((b == 0)); then
    pg=5432 kafka=9092 controller=9093 connect=8081 os=9200 os_transport=9300
  else
    pg=$((b + 432)) kafka=$((b + 92)) controller=$((b + 93)) connect=$((b + 81))
    os=$((b + 200)) os_transport=$((b + 300))
  fi
  mkdir -p "$LOCAL_DIR"
  cat >"$ENV_FILE" <<EOT
export CDCFLOW_LOCAL_DIR=$LOCAL_DIR
export CDCFLOW_LIB_DIR=${CDCFLOW_LIB_DIR:-$repo_root/.local/lib}
export CDCFLOW_PG_PORT=$pg
export CDCFLOW_KAFKA_PORT=$kafka
export CDCFLOW_KAFKA_CONTROLLER_PORT=$controller
export CDCFLOW_CONNECT_PORT=$connect
export CDCFLOW_OPENSEARCH_PORT=$os
export CDCFLOW_OPENSEARCH_TRANSPORT_PORT=$os_transport
export CDCFLOW_KAFKA_BROKERS=127.0.0.1:$kafka
export CDCFLOW_KAFKA_BOOTSTRAP=127.0.0.1:$kafka
export CDCFLOW_CONNECT_URL=http://127.0.0.1:$connect
export CDCFLOW_OPENSEARCH_URL=http://127.0.0.1:$os
export CDCFLOW_ORDERS_DSN="host=127.0.0.1 port=$pg user=postgres dbname=cdcflow"
export CDCFLOW_PRODUCTS_DSN="host=127.0.0.1 port=$pg user=postgres dbname=inventory"
EOT
}

start() {
  # Whatever a previous, interrupted run left in this directory goes first.
  if [[ -f $ENV_FILE ]]; then
    # shellcheck disable=SC1090
    (source "$ENV_FILE" && bash "$repo_root/deploy/local/services.sh" clean)
  fi
  local base
  base=$(pick_ports)
  write_env "$base"
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  stamp "ports: postgres $CDCFLOW_PG_PORT, kafka $CDCFLOW_KAFKA_PORT, connect $CDCFLOW_CONNECT_PORT, opensearch $CDCFLOW_OPENSEARCH_PORT; dir $LOCAL_DIR"
  bash "$repo_root/deploy/local/services.sh" start
  stamp "services up"
  # Products before the connectors: their rows then arrive as snapshot ('r') events.
  /usr/bin/python3 "$repo_root/deploy/producers/load_products.py"
  bash "$repo_root/deploy/local/connectors.sh" register
  stamp "connectors running; fixture ready"
}

stop() {
  if [[ -f $ENV_FILE ]]; then
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    bash "$repo_root/deploy/local/services.sh" stop
  fi
  stamp "services stopped (logs: $LOCAL_DIR/logs)"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
