#!/usr/bin/env bash
# The README's first command: installs what is needed, brings up the local pipeline, builds
# cdcflow and runs the order-enrichment job on a job manager and two task managers.
#   bash deploy/demo.sh          install deps, start PostgreSQL, Kafka, Kafka Connect + Debezium and
#                                OpenSearch, register the connectors, load the product catalogue,
#                                start the order producer, build cdcflow (release preset, ccache),
#                                start a job manager (dashboard http://localhost:8086) and two task
#                                managers, submit jobs/order_enrichment with parallelism 2, then
#                                show enriched orders arriving in the OpenSearch index and the
#                                upsert topic until Ctrl-C, which tears everything down.
#   bash deploy/demo.sh start --detach   the same, but return once documents arrive (all stays up)
#   bash deploy/demo.sh events   print the latest change events and enriched orders again
#   bash deploy/demo.sh status   services, connectors, producer, cdcflow processes
#   bash deploy/demo.sh stop     stop the job, cdcflow, the producer and every service (data is
#                                kept in .local/)
# Settings: the CDCFLOW_* variables of deploy/local/services.sh (ports, CDCFLOW_LOCAL_DIR),
# CDCFLOW_DEMO_ORDERS_ARGS (default "--rate 1 --update-ratio 0.2 --delete-ratio 0.1
# --move-ratio 0.05 --product-change-ratio 0.05 --rename-ratio 0.02 --no-shipment-ratio 0.1"),
# CDCFLOW_JOBMANAGER_PORT (6123), CDCFLOW_DASHBOARD_PORT (8086), CDCFLOW_TASKMANAGER_PORTS
# ("6124 6125"), CDCFLOW_BUILD_DIR (build/release).
set -euo pipefail

cd "$(dirname "$0")/.."
repo_root=$(pwd)
PYTHON=/usr/bin/python3
LOCAL_DIR=${CDCFLOW_LOCAL_DIR:-$repo_root/.local}
KAFKA=127.0.0.1:${CDCFLOW_KAFKA_PORT:-9092}
TOPICS=(inventory.public.products pg.public.orders pg.public.shipments)
ORDERS_ARGS=${CDCFLOW_DEMO_ORDERS_ARGS:---rate 1 --update-ratio 0.2 --delete-ratio 0.1 --move-ratio 0.05 --product-change-ratio 0.05 --rename-ratio 0.02 --no-shipment-ratio 0.1}
ORDERS_PID=$LOCAL_DIR/run/load_orders.pid
ORDERS_LOG=$LOCAL_DIR/logs/load_orders.log
BUILD_DIR=${CDCFLOW_BUILD_DIR:-$repo_root/build/release}
CDCFLOW=$BUILD_DIR/bin/cdcflow
JOB_SO=$BUILD_DIR/jobs/order_enrichment.so
JM_PORT=${CDCFLOW_JOBMANAGER_PORT:-6123}
DASHBOARD_PORT=${CDCFLOW_DASHBOARD_PORT:-8086}
read -r -a TM_PORTS <<<"${CDCFLOW_TASKMANAGER_PORTS:-6124 6125}"
OPENSEARCH=http://127.0.0.1:${CDCFLOW_OPENSEARCH_PORT:-9200}
# The job's outputs (deploy/topics.env: OUTPUT_TOPIC, ES_INDEX).
OUTPUT_TOPIC=enriched_orders
ES_INDEX=enriched_orders

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

# --- cdcflow: build, job manager, task managers, the job ---------------------------------------

build_cdcflow() {
  step "build cdcflow (release preset, ccache; $BUILD_DIR)"
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$repo_root}
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake --preset release >/dev/null
  fi
  nice cmake --build "$BUILD_DIR" -j "$(nproc)" --target cdcflow order_enrichment
}

# cdcflow_running NAME: its pid file names a live cdcflow process.
cdcflow_running() {
  local pid_file=$LOCAL_DIR/run/$1.pid
  [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null &&
    grep -q cdcflow "/proc/$(cat "$pid_file")/cmdline" 2>/dev/null
}

# start_cdcflow NAME ARGS...: runs `cdcflow ARGS` in the background, log .local/logs/NAME.log.
start_cdcflow() {
  local name=$1
  shift
  if cdcflow_running "$name"; then
    step "$name already running (pid $(cat "$LOCAL_DIR/run/$name.pid"))"
    return
  fi
  mkdir -p "$LOCAL_DIR/run" "$LOCAL_DIR/logs"
  setsid nohup "$CDCFLOW" "$@" >>"$LOCAL_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$LOCAL_DIR/run/$name.pid"
}

stop_cdcflow() {
  local name=$1 pid_file=$LOCAL_DIR/run/$1.pid
  if cdcflow_running "$name"; then
    local pid i
    pid=$(cat "$pid_file")
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    step "$name stopped"
  fi
  rm -f "$pid_file"
}

await_port() {
  local port=$1 what=$2 deadline=$((SECONDS + 60))
  until ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do
    if ((SECONDS >= deadline)); then
      echo "demo: $what did not listen on port $port within 60 s; see $LOCAL_DIR/logs/" >&2
      return 1
    fi
    sleep 0.5
  done
}

start_cluster() {
  step "start a job manager (gRPC $JM_PORT, dashboard $DASHBOARD_PORT) and two task managers (${TM_PORTS[*]}); logs $LOCAL_DIR/logs/"
  # As the compose file and the Helm chart run it: keyed state in RocksDB, a checkpoint every
  # 10 s. The demo submits its job on every start, so a job manager starting afresh drops the
  # previous run's jobs and checkpoints (recovering them would run the job twice).
  if ! cdcflow_running jobmanager; then rm -rf "$LOCAL_DIR/data/checkpoints"; fi
  start_cdcflow jobmanager jobmanager --port "$JM_PORT" --rest-port "$DASHBOARD_PORT" \
    --connect-url "http://127.0.0.1:${CDCFLOW_CONNECT_PORT:-8081}" \
    --checkpoint-dir "$LOCAL_DIR/data/checkpoints" --checkpoint-interval-ms 10000
  await_port "$JM_PORT" "the job manager"
  local i
  for i in 0 1; do
    start_cdcflow "taskmanager$((i + 1))" taskmanager --jobmanager "127.0.0.1:$JM_PORT" \
      --slots 2 --port "${TM_PORTS[$i]}" --id "tm$((i + 1))" \
      --plugin-dir "$LOCAL_DIR/data/taskmanager$((i + 1))/plugins" \
      --state-dir "$LOCAL_DIR/data/taskmanager$((i + 1))/state"
  done
  for i in 0 1; do await_port "${TM_PORTS[$i]}" "task manager $((i + 1))"; done
}

# The upsert topic is compacted (only each order's latest document is kept); a single-file Java
# program with the Kafka admin client creates it before the job's producer would auto-create it.
create_output_topic() {
  step "create the compacted upsert topic $OUTPUT_TOPIC"
  java -cp "${CDCFLOW_LIB_DIR:-$LOCAL_DIR/lib}/kafka/*" deploy/local/kafka/CreateTopic.java \
    "$KAFKA" "$OUTPUT_TOPIC" 2 cleanup.policy=compact 2>&1 | grep -v ' INFO \| WARN ' || true
}

submit_job() {
  step "submit jobs/order_enrichment (parallelism 2): orders ⋈ shipments ⋈ products -> index $ES_INDEX, upsert topic $OUTPUT_TOPIC"
  "$CDCFLOW" run --jobmanager "127.0.0.1:$JM_PORT" --parallelism 2 --detach "$JOB_SO" -- \
    "bootstrap_servers=$KAFKA" "es_url=$OPENSEARCH" sink=kafka,elasticsearch \
    "output_topic=$OUTPUT_TOPIC" "es_index=$ES_INDEX"
}

index_count() {
  curl -sf -m 5 "$OPENSEARCH/$ES_INDEX/_count" 2>/dev/null | jq -r '.count // 0' 2>/dev/null || echo 0
}

# Prints the N most recently created enriched orders of the index and the last N records of the
# upsert topic.
show_enriched() {
  local n=${1:-3}
  echo "-- OpenSearch index $ES_INDEX: $(index_count) documents; newest $n:"
  curl -sf -m 5 "$OPENSEARCH/$ES_INDEX/_search?size=$n&sort=order_id:desc" 2>/dev/null |
    jq -c '.hits.hits[]._source' 2>/dev/null || true
  echo "-- Kafka upsert topic $OUTPUT_TOPIC: last $n records (key -> value, null = deleted):"
  kcat -b "$KAFKA" -C -t "$OUTPUT_TOPIC" -o "-$n" -e -q -f '%k -> %s\n' 2>/dev/null || true
}

await_enriched() {
  local deadline=$((SECONDS + 180))
  while (($(index_count) == 0)); do
    if ((SECONDS >= deadline)); then
      echo "demo: no enriched order in $ES_INDEX after 180 s; see $LOCAL_DIR/logs/{jobmanager,taskmanager1,taskmanager2}.log" >&2
      return 1
    fi
    sleep 1
  done
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
  local name
  for name in jobmanager taskmanager1 taskmanager2; do
    if cdcflow_running "$name"; then echo "$name running (pid $(cat "$LOCAL_DIR/run/$name.pid"))"; else echo "$name stopped"; fi
  done
  if cdcflow_running jobmanager; then "$CDCFLOW" list --jobmanager "127.0.0.1:$JM_PORT" || true; fi
}

demo_start() {
  local detach=${1:-}
  # Ctrl-C (or a failure) from here on tears down whatever was started.
  trap 'echo; step "interrupted: tearing down"; demo_stop; exit 130' INT TERM
  install_deps
  start_services
  load_products
  register_connectors
  start_orders
  step "change events arriving on Kafka ($KAFKA):"
  show_events 3
  build_cdcflow
  start_cluster
  create_output_topic
  submit_job
  step "waiting for enriched orders in $OPENSEARCH/$ES_INDEX ..."
  await_enriched
  show_enriched 3
  step "dashboard: http://localhost:$DASHBOARD_PORT  (job manager 127.0.0.1:$JM_PORT)"
  if [[ $detach == --detach ]]; then
    trap - INT TERM
    step "up. 'bash deploy/demo.sh events' shows the latest again; 'bash deploy/demo.sh stop' stops everything"
    return
  fi
  step "running; new enriched orders every 15 s below. Ctrl-C stops everything (or: bash deploy/demo.sh stop)"
  while :; do
    sleep 15
    show_enriched 2
  done
}

demo_stop() {
  stop_cdcflow taskmanager2
  stop_cdcflow taskmanager1
  stop_cdcflow jobmanager
  stop_orders
  bash deploy/local/services.sh stop
  step "stopped"
}

case ${1:-start} in
  start) demo_start "${2:-}" ;;
  stop) demo_stop ;;
  status) demo_status ;;
  events)
    show_events "${2:-5}"
    show_enriched "${2:-5}"
    ;;
  *)
    echo "usage: $0 [start|stop|status|events [N]]" >&2
    exit 2
    ;;
esac
