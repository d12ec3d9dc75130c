#!/usr/bin/env bash
# The README's first command: installs what is needed, brings up the local pipeline and shows
# change events flowing.
#   bash deploy/demo.sh          install deps, start PostgreSQL, Kafka, Kafka Connect + Debezium and
#                                OpenSearch, register the connectors, load the product catalogue,
#                                start the order producer in the background, print a few change
#                                events from each Debezium topic; everything stays up afterwards.
#   bash deploy/demo.sh events   print the latest change events again
#   bash deploy/demo.sh status   services, connectors, producer
#   bash deploy/demo.sh stop     stop the producer and every service (data is kept in .local/)
# Settings: the CDCFLOW_* variables of deploy/local/services.sh (ports, CDCFLOW_LOCAL_DIR), and
# CDCFLOW_DEMO_ORDERS_ARGS (default "--rate 1 --update-ratio 0.2 --delete-ratio 0.1").
set -euo pipefail

cd "$(dirname "$0")/.."
repo_root=$(pwd)
PYTHON=/usr/bin/python3
LOCAL_DIR=${CDCFLOW_LOCAL_DIR:-$repo_root/.local}
KAFKA=127.0.0.1:${CDCFLOW_KAFKA_PORT:-9092}
TOPICS=(inventory.public.products pg.public.orders pg.public.shipments)
ORDERS_ARGS=${CDCFLOW_DEMO_ORDERS_ARGS:---rate 1 --update-ratio 0.2 --delete-ratio 0.1}
ORDERS_PID=$LOCAL_DIR/run/load_orders.pid
ORDERS_LOG=$LOCAL_DIR/logs/load_orders.log

t0=$SECONDS
step() { echo "== [demo $((SECONDS - t0))s] $*"; }

install_deps() {
  step "install dependencies"
  bash deploy/install-deps.sh
}

start_services() {
  step "start services (data, logs: $LOCAL_DIR)"
  bash deploy/local/services.sh start
}

register_connectors() {
  step "register Debezium connectors (deploy/connect/*.json)"
  bash deploy/local/connectors.sh register
}

load_products() {
  step "load the product catalogue (PostgreSQL 'inventory' database, standing in for SQL Server)"
  "$PYTHON" deploy/producers/load_products.py
}

orders_running() {
  [[ -f $ORDERS_PID ]] && kill -0 "$(cat "$ORDERS_PID")" 2>/dev/null &&
    grep -q load_orders.py "/proc/$(cat "$ORDERS_PID")/cmdline" 2>/dev/null
}

start_orders() {
  if orders_running; then
    step "order producer already running (pid $(cat "$ORDERS_PID"), log $ORDERS_LOG)"
    return
  fi
  step "start the order producer: load_orders.py $ORDERS_ARGS (log $ORDERS_LOG)"
  mkdir -p "$(dirname "$ORDERS_PID")" "$(dirname "$ORDERS_LOG")"
  # shellcheck disable=SC2086  # ORDERS_ARGS is a list of options
  setsid nohup "$PYTHON" deploy/producers/load_orders.py --verbose $ORDERS_ARGS \
    >>"$ORDERS_LOG" 2>&1 </dev/null &
  echo $! >"$ORDERS_PID"
}

stop_orders() {
  if orders_running; then
    local pid
    pid=$(cat "$ORDERS_PID")
    kill "$pid"
    local i
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    step "order producer stopped; it wrote: $(tail -1 "$ORDERS_LOG" | head -c 300)"
  fi
  rm -f "$ORDERS_PID"
}

topic_size() {
  kcat -b "$KAFKA" -C -t "$1" -o beginning -e -q -f '.\n' 2>/dev/null | wc -l
}

# Prints the last N change events of each topic: key, op, before, after.
show_events() {
  local n=${1:-3} topic
  for topic in "${TOPICS[@]}"; do
    local deadline=$((SECONDS + 60))
    while (($(topic_size "$topic") < n)) && ((SECONDS < deadline)); do sleep 1; done
    echo "-- $topic: last $n events ($(topic_size "$topic") in the topic)"
    kcat -b "$KAFKA" -C -t "$topic" -o "-$n" -e -q -J 2>/dev/null |
      jq -c '{offset, key: (.key | fromjson? | .payload),
              op: (if .payload == null then "tombstone" else (.payload | fromjson | .payload.op) end),
              before: (.payload | fromjson? | .payload.before),
              after: (.payload | fromjson? | .payload.after)}' || true
  done
}

demo_status() {
  bash deploy/local/services.sh status || true
  bash deploy/local/connectors.sh status || true
  if orders_running; then echo "load_orders running (pid $(cat "$ORDERS_PID"), log $ORDERS_LOG)"; else echo "load_orders stopped"; fi
}

demo_start() {
  install_deps
  start_services
  load_products
  register_connectors
  start_orders
  step "change events arriving on Kafka ($KAFKA):"
  show_events 3
  step "up. 'bash deploy/demo.sh events' shows the latest events again; 'bash deploy/demo.sh stop' stops everything"
}

demo_stop() {
  stop_orders
  bash deploy/local/services.sh stop
  step "stopped"
}

case ${1:-start} in
  start) demo_start ;;
  stop) demo_stop ;;
  status) demo_status ;;
  events) show_events "${2:-5}" ;;
  *)
    echo "usage: $0 [start|stop|status|events [N]]" >&2
    exit 2
    ;;
esac
