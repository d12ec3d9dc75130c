#!/usr/bin/env bash
# CTest fixture `local_services`: brings up the real servers once per ctest run, fresh, on free
# loopback ports, and stops them at the end.
#   services_fixture.sh start   clean state, pick ports, start every service, load the product
#                               catalogue, register the Debezium connectors; writes the settings
#                               to $CDCFLOW_TEST_LOCAL_DIR/test-env.sh
#   services_fixture.sh stop    stops them (data and logs stay for a post-mortem)
# Tests read the settings through with_services_env.sh. CDCFLOW_TEST_LOCAL_DIR is set by
# tests/integration/CMakeLists.txt (default <build>/integration-services); CDCFLOW_TEST_PORT_BASE
# Each service gets its default port (5432, 9092/9093, 8081, 9200/9300) when that is free, so
# that a test reading only CDCFLOW_*_PORT defaults still finds it; otherwise the first free one
# of CDCFLOW_TEST_PORT_BASE (default 25000) + offset (postgres 432, kafka 92/93, connect 81,
# opensearch 200/300), then base+1000+offset, ...
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL_DIR=${CDCFLOW_TEST_LOCAL_DIR:?set by tests/integration/CMakeLists.txt}
ENV_FILE=$LOCAL_DIR/test-env.sh
t0=$SECONDS
stamp() { echo "fixture [$((SECONDS - t0))s]: $*"; }

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# pick_port DEFAULT OFFSET: DEFAULT if free, else the first free BASE+OFFSET, BASE+1000+OFFSET, ...
pick_port() {
  local default=$1 off=$2 base=${CDCFLOW_TEST_PORT_BASE:-25000} i
  if ! port_busy "$default"; then
    echo "$default"
    return 0
  fi
  for ((i = 0; i < 10; i++, base += 1000)); do
    if ! port_busy $((base + off)); then
      echo $((base + off))
      return 0
    fi
  done
  echo "services_fixture: no free port for $default (tried $((${CDCFLOW_TEST_PORT_BASE:-25000} + off)) + k*1000)" >&2
  return 1
}

write_env() {
  local pg kafka controller connect os os_transport
  pg=$(pick_port 5432 432)
  kafka=$(pick_port 9092 92)
  controller=$(pick_port 9093 93)
  connect=$(pick_port 8081 81)
  os=$(pick_port 9200 200)
  os_transport=$(pick_port 9300 300)
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
  write_env
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  stamp "ports: postgres $CDCFLOW_PG_PORT, kafka $CDCFLOW_KAFKA_PORT, connect $CDCFLOW_CONNECT_PORT, opensearch $CDCFLOW_OPENSEARCH_PORT; dir $LOCAL_DIR"
  # C1 only: the JVMs start about 40% faster on two busy cores; tests need no peak throughput.
  CDCFLOW_JVM_OPTS=${CDCFLOW_JVM_OPTS:--XX:TieredStopAtLevel=1} \
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
