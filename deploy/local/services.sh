#!/usr/bin/env bash
# Starts, stops and reports the real servers of the local pipeline, without Docker:
#   postgres    PostgreSQL 15 (Debian package), wal_level=logical, seed databases + schema
#   kafka       Apache Kafka 4.x, KRaft, single node (jars from Maven Central)
#   connect     Kafka Connect (distributed, one worker) + Debezium PostgreSQL connector plugin;
#               REST API on CDCFLOW_CONNECT_PORT (8081, the port the seed watches Debezium on)
#   opensearch  OpenSearch 2.19, single node, security off, HTTP on CDCFLOW_OPENSEARCH_PORT
#
# Usage: services.sh start|stop|restart|status [service...] | clean | env   (no service = all of them)
#        services.sh env        prints the settings in effect (sourceable)
# `start connect` also starts kafka, which it needs. Starting is idempotent (a healthy running
# service is left alone) and waits until each service is healthy. If one fails, the script names
# it, its port and its log file, stops every service it started itself, and exits 1.
#
# Everything lives under CDCFLOW_LOCAL_DIR (default <repo>/.local): lib/ (jars; CDCFLOW_LIB_DIR
# overrides), data/, logs/, run/ (pid files), conf/. Jars are resolved by Maven into its local
# repository (~/.m2) and copied to lib/ once; later starts download nothing.
# `services.sh clean` stops everything and deletes data, logs and configs (not the jars).
#
# Ports (env): CDCFLOW_PG_PORT 5432, CDCFLOW_KAFKA_PORT 9092, CDCFLOW_KAFKA_CONTROLLER_PORT 9093,
# CDCFLOW_CONNECT_PORT 8081, CDCFLOW_OPENSEARCH_PORT 9200, CDCFLOW_OPENSEARCH_TRANSPORT_PORT 9300.
# Heaps (env): CDCFLOW_KAFKA_HEAP 512m, CDCFLOW_CONNECT_HEAP 512m, CDCFLOW_OPENSEARCH_HEAP 512m;
# CDCFLOW_JVM_OPTS adds options to every JVM; CDCFLOW_START_TIMEOUT (120 s) bounds each wait.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)

LOCAL_DIR=${CDCFLOW_LOCAL_DIR:-$repo_root/.local}
PG_PORT=${CDCFLOW_PG_PORT:-5432}
KAFKA_PORT=${CDCFLOW_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${CDCFLOW_KAFKA_CONTROLLER_PORT:-9093}
CONNECT_PORT=${CDCFLOW_CONNECT_PORT:-8081}
OPENSEARCH_PORT=${CDCFLOW_OPENSEARCH_PORT:-9200}
OPENSEARCH_TRANSPORT_PORT=${CDCFLOW_OPENSEARCH_TRANSPORT_PORT:-9300}
KAFKA_HEAP=${CDCFLOW_KAFKA_HEAP:-512m}
CONNECT_HEAP=${CDCFLOW_CONNECT_HEAP:-512m}
OPENSEARCH_HEAP=${CDCFLOW_OPENSEARCH_HEAP:-512m}
START_TIMEOUT=${CDCFLOW_START_TIMEOUT:-120}
JVM_OPTS=${CDCFLOW_JVM_OPTS:-}  # extra options for every JVM, split on spaces

PG_BIN=/usr/lib/postgresql/15/bin
JAVA=${JAVA:-java}
ALL_SERVICES=(postgres kafka connect opensearch)

LIB_DIR=${CDCFLOW_LIB_DIR:-$LOCAL_DIR/lib}
DATA_DIR=$LOCAL_DIR/data
LOG_DIR=$LOCAL_DIR/logs
RUN_DIR=$LOCAL_DIR/run
CONF_DIR=$LOCAL_DIR/conf

log() { echo "services: $*" >&2; }

port_of() {
  case $1 in
    postgres) echo "$PG_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
    connect) echo "$CONNECT_PORT" ;;
    opensearch) echo "$OPENSEARCH_PORT" ;;
  esac
}
log_of() { echo "$LOG_DIR/$1.log"; }
pid_file_of() { echo "$RUN_DIR/$1.pid"; }

# A PostgreSQL server must not run as root; as root we run it as the Debian package's user.
as_pg_user() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

port_busy() {
  # Listening on any address, IPv4 or IPv6.
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# --- jars -----------------------------------------------------------------------------------

# fetch_jars NAME POM [EXCLUDED_ARTIFACT_IDS]: copies POM's runtime dependencies into lib/NAME once.
# The marker records the pom's hash, so editing a pom refetches.
fetch_jars() {
  local name=$1 pom=$2 exclude=${3:-}
  local dest=$LIB_DIR/$name
  local fetch_log=$LOG_DIR/fetch-${name//\//-}.log
  local stamp
  stamp=$(sha256sum "$pom" | cut -c1-16)
  if [[ -f $dest/.complete && $(cat "$dest/.complete") == "$stamp" ]]; then
    return 0
  fi
  log "fetching $name jars (Maven Central, cached in ~/.m2) ..."
  local t0=$SECONDS
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp" "$LOG_DIR"
  local args=(-B -q -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dest.tmp"
    -DincludeScope=runtime)
  [[ -n $exclude ]] && args+=(-DexcludeArtifactIds="$exclude")
  if ! (cd "$LIB_DIR" && mvn "${args[@]}") >"$fetch_log" 2>&1; then
    log "FAILED to fetch $name jars; see $fetch_log"
    tail -20 "$fetch_log" >&2
    return 1
  fi
  if ! compgen -G "$dest.tmp/*.jar" >/dev/null; then
    log "FAILED to fetch $name jars: Maven copied none; see $fetch_log"
    return 1
  fi
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  echo "$stamp" >"$dest/.complete"
  log "fetched $name jars in $((SECONDS - t0))s"
}

ensure_kafka_jars() {
  fetch_jars kafka "$script_dir/maven/kafka.xml"
}

ensure_connect_plugins() {
  ensure_kafka_jars
  # The Connect runtime provides the Kafka and SLF4J APIs; a plugin must not carry its own.
  fetch_jars connect-plugins/debezium-postgres "$script_dir/maven/debezium.xml" \
    "connect-api,kafka-clients,slf4j-api"
}

ensure_opensearch_jars() {
  fetch_jars opensearch "$script_dir/maven/opensearch.xml"
  local src=$script_dir/opensearch/LocalOpenSearch.java
  local out=$LIB_DIR/opensearch-launcher
  local stamp
  stamp=$(sha256sum "$src" | cut -c1-16)
  if [[ -f $out/.complete && $(cat "$out/.complete") == "$stamp" ]]; then
    return 0
  fi
  rm -rf "$out"
  mkdir -p "$out"
  javac -d "$out" -cp "$LIB_DIR/opensearch/*" "$src"
  echo "$stamp" >"$out/.complete"
}

# --- process handling -----------------------------------------------------------------------

pid_alive() {
  local pid_file
  pid_file=$(pid_file_of "$1")
  [[ -f $pid_file ]] || return 1
  local pid
  pid=$(head -1 "$pid_file")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A stale pid file may name a pid reused by an unrelated process: check it is ours.
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"-Dcdcflow.service=$1 "* && $cmdline == *"-Djava.io.tmpdir=$DATA_DIR/tmp "* ]]
}

# launch_java NAME HEAP MAIN_ARGS...: runs a JVM in its own session, output to the log file.
launch_java() {
  local name=$1 heap=$2
  shift 2
  local logf
  logf=$(log_of "$name")
  echo "---- start $(date -u +%FT%TZ)" >>"$logf"
  # shellcheck disable=SC2086  # JVM_OPTS is a list of options
  setsid nohup "$JAVA" -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -Djava.io.tmpdir="$DATA_DIR/tmp" -Dcdcflow.service="$name" $JVM_OPTS "$@" \
    >>"$logf" 2>&1 </dev/null &
  echo $! >"$(pid_file_of "$name")"
}

stop_pid_service() {
  local name=$1
  local pid_file
  pid_file=$(pid_file_of "$name")
  if ! pid_alive "$name"; then
    rm -f "$pid_file"
    return 0
  fi
  local pid
  pid=$(head -1 "$pid_file")
  kill "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) did not stop in 30s; killing it"
    kill -9 "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pid_file"
}

# --- postgres -------------------------------------------------------------------------------

# PostgreSQL runs as the postgres user, which must reach its files. Where it cannot reach the
# local dir (a clone under /root, say), they live in /var/tmp instead, linked from data/ and logs/.
pg_home() {
  if ((EUID != 0)) || runuser -u postgres -- test -x "$LOCAL_DIR" 2>/dev/null; then
    echo "$DATA_DIR/postgres"
  else
    echo "/var/tmp/cdcflow-postgres-$(echo -n "$LOCAL_DIR" | sha256sum | cut -c1-12)"
  fi
}
pg_data() { echo "$(pg_home)/data"; }

launch_postgres() {
  local home data logf
  home=$(pg_home)
  data=$home/data
  logf=$home/postgres.log
  mkdir -p "$home"
  touch "$logf"
  if ((EUID == 0)); then chown postgres: "$home" "$logf"; fi
  if [[ $home != "$DATA_DIR/postgres" ]]; then
    rm -rf "$DATA_DIR/postgres"
    ln -sfn "$home" "$DATA_DIR/postgres"
  fi
  ln -sfn "$logf" "$(log_of postgres)"
  if [[ ! -f $data/PG_VERSION ]]; then
    rm -rf "$data"
    mkdir -p "$data"
    if ((EUID == 0)); then chown postgres: "$data"; fi
    as_pg_user "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >>"$logf" 2>&1
    # Loopback only; logical decoding for Debezium. fsync off: a disposable local database.
    cat >>"$data/postgresql.conf" <<EOF
# cdcflow local pipeline
listen_addresses = '127.0.0.1'
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  # The port is passed on the command line so that it follows the env. TCP only: a Unix socket
  # path under a deep local dir can pass the 107-byte limit.
  as_pg_user "$PG_BIN/pg_ctl" -D "$data" -l "$logf" -s \
    -o "-p $PG_PORT -c unix_socket_directories=''" start >/dev/null 2>&1 || true
}

postgres_pid() {
  local pm
  pm=$(pg_data)/postmaster.pid
  [[ -f $pm ]] && head -1 "$pm"
}

postgres_running() {
  local pid
  pid=$(postgres_pid 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

postgres_healthy() {
  postgres_running && pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
}

# Seed databases: cdcflow (orders, shipments) and inventory (products, standing in for the SQL
# Server database of the seed pipeline). Idempotent.
postgres_bootstrap() {
  local db
  for db in cdcflow inventory; do
    if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
    fi
  done
  PGOPTIONS="-c client_min_messages=warning" \
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -f "$repo_root/deploy/sql/schema.sql" >/dev/null
}

stop_postgres() {
  if postgres_running; then
    as_pg_user "$PG_BIN/pg_ctl" -D "$(pg_data)" -s -m fast -t 60 stop >/dev/null 2>&1 || true
  fi
}

# --- kafka ----------------------------------------------------------------------------------

launch_kafka() {
  local data=$DATA_DIR/kafka conf=$CONF_DIR/kafka.properties
  mkdir -p "$data" "$CONF_DIR" "$DATA_DIR/tmp"
  cat >"$conf" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data/logs
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  write_log4j2 kafka
  if [[ ! -f $data/logs/meta.properties ]]; then
    # A cluster id is 16 random bytes in URL-safe base64 without padding.
    local cluster_id
    # Base64 without '-' and '_': an id starting with '-' reads as an option to kafka-storage.
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' 'ab' | tr -d '=\n')
    if ! "$JAVA" -Xmx256m -cp "$LIB_DIR/kafka/*" \
      -Dlog4j2.configurationFile="$CONF_DIR/log4j2-kafka.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$conf" >>"$(log_of kafka)" 2>&1; then
      fail_service kafka "formatting the KRaft storage in $data/logs failed"
      return 1
    fi
  fi
  launch_java kafka "$KAFKA_HEAP" -cp "$LIB_DIR/kafka/*" \
    -Dlog4j2.configurationFile="$CONF_DIR/log4j2-kafka.properties" kafka.Kafka "$conf"
}

kafka_healthy() {
  pid_alive kafka || return 1
  kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 2>/dev/null | grep -q "1 brokers" || return 1
}

# write_log4j2 NAME: log4j2 config printing to stdout (the service's log file).
write_log4j2() {
  cat >"$CONF_DIR/log4j2-$1.properties" <<'EOF'
status = error
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c{1})%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.rest.name = org.apache.kafka.connect.runtime.rest.RestServer
logger.rest.level = WARN
EOF
}

# --- connect --------------------------------------------------------------------------------

launch_connect() {
  local conf=$CONF_DIR/connect.properties
  mkdir -p "$CONF_DIR" "$DATA_DIR/tmp"
  cat >"$conf" <<EOF
bootstrap.servers=127.0.0.1:$KAFKA_PORT
group.id=cdcflow-connect
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
config.storage.topic=cdcflow-connect-configs
offset.storage.topic=cdcflow-connect-offsets
status.storage.topic=cdcflow-connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
offset.storage.partitions=1
status.storage.replication.factor=1
status.storage.partitions=1
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$CONNECT_PORT
plugin.path=$LIB_DIR/connect-plugins
plugin.discovery=hybrid_warn
EOF
  write_log4j2 connect
  launch_java connect "$CONNECT_HEAP" -cp "$LIB_DIR/kafka/*" \
    -Dlog4j2.configurationFile="$CONF_DIR/log4j2-connect.properties" \
    org.apache.kafka.connect.cli.ConnectDistributed "$conf"
}

connect_healthy() {
  pid_alive connect || return 1
  curl -sf -m 3 "http://127.0.0.1:$CONNECT_PORT/connector-plugins" 2>/dev/null |
    grep -q 'io.debezium.connector.postgresql.PostgresConnector'
}

# --- opensearch -----------------------------------------------------------------------------

launch_opensearch() {
  local home=$DATA_DIR/opensearch
  mkdir -p "$home/config" "$home/data" "$DATA_DIR/tmp"
  cat >"$home/config/opensearch.yml" <<EOF
cluster.name: cdcflow-local
node.name: local
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
transport.port: $OPENSEARCH_TRANSPORT_PORT
discovery.type: single-node
path.data: $home/data
path.logs: $LOG_DIR
cluster.routing.allocation.disk.threshold_enabled: false
action.auto_create_index: true
EOF
  cat >"$home/config/log4j2.properties" <<'EOF'
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
EOF
  launch_java opensearch "$OPENSEARCH_HEAP" \
    -cp "$LIB_DIR/opensearch/*:$LIB_DIR/opensearch-launcher" \
    -Dopensearch.path.home="$home" -Dlog4j2.disable.jmx=true -Dlog4j.shutdownHookEnabled=false \
    -Dio.netty.allocator.type=unpooled -Dio.netty.noUnsafe=true LocalOpenSearch
}

opensearch_healthy() {
  pid_alive opensearch || return 1
  curl -sf -m 3 "http://127.0.0.1:$OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=2s" \
    2>/dev/null | grep -q '"status":"\(green\|yellow\)"'
}

# --- generic --------------------------------------------------------------------------------

running() {
  case $1 in
    postgres) postgres_running ;;
    *) pid_alive "$1" ;;
  esac
}

healthy() { "${1}_healthy"; }

stop_one() {
  case $1 in
    postgres) stop_postgres ;;
    *) stop_pid_service "$1" ;;
  esac
}

fail_service() {
  local name=$1 why=$2
  echo "services: FAILED to start $name (port $(port_of "$name")): $why; log: $(log_of "$name")" >&2
  if [[ -f $(log_of "$name") ]]; then
    echo "services: last lines of $(log_of "$name"):" >&2
    tail -15 "$(log_of "$name")" | sed 's/^/    /' >&2
  fi
}

STARTED=()  # services this invocation launched, for the rollback on failure

# launch NAME: returns 0 if running already or launched; 1 (after reporting) if it cannot start.
launch() {
  local name=$1
  if running "$name"; then
    return 0
  fi
  local port
  port=$(port_of "$name")
  mkdir -p "$LOG_DIR" "$RUN_DIR" "$DATA_DIR"
  if port_busy "$port"; then
    fail_service "$name" "port $port is already in use by another process"
    return 1
  fi
  if [[ $name == kafka ]] && port_busy "$KAFKA_CONTROLLER_PORT"; then
    fail_service "$name" "controller port $KAFKA_CONTROLLER_PORT is already in use"
    return 1
  fi
  if [[ $name == opensearch ]] && port_busy "$OPENSEARCH_TRANSPORT_PORT"; then
    fail_service "$name" "transport port $OPENSEARCH_TRANSPORT_PORT is already in use"
    return 1
  fi
  log "starting $name on port $port (log $(log_of "$name"))"
  STARTED+=("$name")
  LAUNCH_T0[$name]=$SECONDS
  "launch_$name"
}

declare -A LAUNCH_T0=()

# await NAME: waits until NAME is healthy, or reports and returns 1.
await() {
  local name=$1
  local deadline=$((SECONDS + START_TIMEOUT))
  while ! healthy "$name"; do
    if ! running "$name"; then
      # pg_ctl may still be bringing postgres up: give it a moment before calling it dead.
      sleep 1
      if ! running "$name"; then
        fail_service "$name" "the process exited"
        return 1
      fi
    fi
    if ((SECONDS >= deadline)); then
      fail_service "$name" "not healthy after ${START_TIMEOUT}s"
      return 1
    fi
    sleep 0.5
  done
  if [[ -n ${LAUNCH_T0[$name]:-} ]]; then
    log "$name is up on port $(port_of "$name") ($((SECONDS - LAUNCH_T0[$name]))s)"
  fi
  if [[ $name == postgres ]]; then
    postgres_bootstrap || {
      fail_service postgres "could not create the seed databases/schema"
      return 1
    }
  fi
}

rollback() {
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    log "stopping ${STARTED[i]} (started by this run)"
    stop_one "${STARTED[i]}"
  done
  exit 1
}

# Requested services plus what they need, in a fixed order.
resolve() {
  local -A want=()
  local s
  for s in "$@"; do
    case $s in
      postgres | kafka | opensearch) want[$s]=1 ;;
      connect) want[connect]=1 want[kafka]=1 ;;
      *)
        echo "services: unknown service '$s' (known: ${ALL_SERVICES[*]})" >&2
        exit 2
        ;;
    esac
  done
  for s in "${ALL_SERVICES[@]}"; do
    [[ -n ${want[$s]:-} ]] && echo "$s"
  done
  return 0
}

cmd_start() {
  (($#)) || set -- "${ALL_SERVICES[@]}"
  local services
  mapfile -t services < <(resolve "$@")
  local -A want=()
  local s
  for s in "${services[@]}"; do want[$s]=1; done
  local t0=$SECONDS

  # Jars first, so that a slow first download does not count against a start timeout.
  [[ -n ${want[kafka]:-} ]] && { ensure_kafka_jars || exit 1; }
  [[ -n ${want[connect]:-} ]] && { ensure_connect_plugins || exit 1; }
  [[ -n ${want[opensearch]:-} ]] && { ensure_opensearch_jars || exit 1; }

  # Independent services start together; connect once kafka answers.
  for s in postgres kafka opensearch; do
    if [[ -n ${want[$s]:-} ]]; then launch "$s" || rollback; fi
  done
  for s in postgres kafka; do
    if [[ -n ${want[$s]:-} ]]; then await "$s" || rollback; fi
  done
  if [[ -n ${want[connect]:-} ]]; then
    launch connect || rollback
    await connect || rollback
  fi
  if [[ -n ${want[opensearch]:-} ]]; then await opensearch || rollback; fi
  log "ready: ${services[*]} ($((SECONDS - t0))s)"
}

cmd_stop() {
  local services
  mapfile -t services < <(if (($#)); then printf '%s\n' "$@"; else printf '%s\n' "${ALL_SERVICES[@]}"; fi)
  local i
  # Reverse order: connect before kafka.
  for ((i = ${#ALL_SERVICES[@]} - 1; i >= 0; i--)); do
    local s=${ALL_SERVICES[i]}
    if printf '%s\n' "${services[@]}" | grep -qx "$s"; then
      if running "$s"; then
        log "stopping $s"
        stop_one "$s"
      fi
    fi
  done
  for s in "${services[@]}"; do
    case $s in postgres | kafka | connect | opensearch) ;; *)
      echo "services: unknown service '$s'" >&2
      exit 2
      ;;
    esac
  done
}

cmd_status() {
  local services
  mapfile -t services < <(if (($#)); then resolve "$@"; else printf '%s\n' "${ALL_SERVICES[@]}"; fi)
  local s state rc=0
  for s in "${services[@]}"; do
    if healthy "$s"; then
      state=healthy
    elif running "$s"; then
      state="running, not healthy"
      rc=1
    else
      state=stopped
      rc=1
    fi
    printf '%-11s %-22s port %-5s log %s\n' "$s" "$state" "$(port_of "$s")" "$(log_of "$s")"
  done
  return $rc
}

cmd_clean() {
  cmd_stop
  local home
  home=$(pg_home)
  [[ $home == /var/tmp/cdcflow-postgres-* ]] && rm -rf "$home"
  rm -rf "$DATA_DIR" "$LOG_DIR" "$RUN_DIR" "$CONF_DIR"
  log "removed data, logs and configs under $LOCAL_DIR"
}

cmd_env() {
  cat <<EOF
CDCFLOW_LOCAL_DIR=$LOCAL_DIR
CDCFLOW_PG_PORT=$PG_PORT
CDCFLOW_KAFKA_PORT=$KAFKA_PORT
CDCFLOW_KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
CDCFLOW_CONNECT_PORT=$CONNECT_PORT
CDCFLOW_OPENSEARCH_PORT=$OPENSEARCH_PORT
CDCFLOW_OPENSEARCH_TRANSPORT_PORT=$OPENSEARCH_TRANSPORT_PORT
EOF
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart) cmd_stop "$@" && cmd_start "$@" ;;
    status) cmd_status "$@" ;;
    clean) cmd_clean ;;
    env) cmd_env ;;
    *)
      echo "usage: $0 start|stop|restart|status|clean|env [postgres|kafka|connect|opensearch ...]" >&2
      exit 2
      ;;
  esac
}

main "$@"
