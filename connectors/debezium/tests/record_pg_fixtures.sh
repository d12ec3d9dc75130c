#!/usr/bin/env bash
# Records real Debezium PostgreSQL change events for the decoder's tests.
#
# Starts PostgreSQL, Kafka and Kafka Connect + Debezium with the project's own
# deploy/local/services.sh (ports from CDCFLOW_* variables, see `services.sh env`),
# creates database cdcflow_types with pg/all_types.sql (one column per type),
# registers two Debezium connectors on it (JsonConverter with schemas.enable true
# and false), runs pg/all_types_dml.sql (inserts, updates incl. an unchanged
# TOASTed column, a delete and a truncate) and writes the topics' messages as
# `key<TAB>value` lines to
#   testdata/postgres_all_types.schemas-on.tsv
#   testdata/postgres_all_types.schemas-off.tsv
# postgres_fixtures_test.cc states the values the DML wrote and checks that both
# files decode to them. Services this script started are stopped at the end.
#
# Usage: connectors/debezium/tests/record_pg_fixtures.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
services=$root/deploy/local/services.sh
eval "$("$services" env)"
export CDCFLOW_LOCAL_DIR CDCFLOW_PG_PORT CDCFLOW_KAFKA_PORT CDCFLOW_CONNECT_PORT
connect_url=http://127.0.0.1:$CDCFLOW_CONNECT_PORT
bootstrap=127.0.0.1:$CDCFLOW_KAFKA_PORT
db=cdcflow_types
timeout=${CDCFLOW_RECORD_TIMEOUT:-180}

log() { echo "record_pg_fixtures: $*" >&2; }

started=()
for s in postgres kafka connect; do
  if ! "$services" status "$s" >/dev/null 2>&1; then started+=("$s"); fi
done
cleanup() {
  for name in cdcflow-types-on cdcflow-types-off; do
    curl -s -m 10 -X DELETE "$connect_url/connectors/$name" >/dev/null 2>&1 || true
  done
  sleep 2
  psql -h 127.0.0.1 -p "$CDCFLOW_PG_PORT" -U postgres -d postgres -qAt -c \
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
     WHERE slot_name IN ('cdcflow_types_on', 'cdcflow_types_off') AND NOT active" >/dev/null 2>&1 || true
  if ((${#started[@]})); then
    log "stopping ${started[*]}"
    "$services" stop "${started[@]}" || true
  fi
}
trap cleanup EXIT

"$services" start postgres connect

psql() { command psql -h 127.0.0.1 -p "$CDCFLOW_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
psql -d postgres -c "CREATE DATABASE $db"
psql -d "$db" -f "$here/pg/all_types.sql" >/dev/null

register() {  # name topic-prefix schemas-enable
  local body
  body=$(jq -n --arg prefix "$2" --arg schemas "$3" --arg port "$CDCFLOW_PG_PORT" \
    --arg slot "${1//-/_}" --arg db "$db" '{
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "tasks.max": "1", "plugin.name": "pgoutput",
    "database.hostname": "127.0.0.1", "database.port": $port,
    "database.user": "postgres", "database.password": "postgres", "database.dbname": $db,
    "topic.prefix": $prefix, "table.include.list": "public.all_types",
    "slot.name": $slot, "publication.name": $slot, "publication.autocreate.mode": "filtered",
    "snapshot.mode": "initial", "decimal.handling.mode": "precise",
    "skipped.operations": "none",
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": $schemas,
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": $schemas,
    "topic.creation.default.replication.factor": "1",
    "topic.creation.default.partitions": "1"}')
  curl -sf -m 30 -X PUT -H 'Content-Type: application/json' --data "$body" \
    "$connect_url/connectors/$1/config" >/dev/null
  local deadline=$((SECONDS + timeout)) state=""
  until [[ $state == RUNNING,RUNNING ]]; do
    if ((SECONDS >= deadline)) || [[ $state == *FAILED* ]]; then
      log "connector $1 not running (state '$state')"
      curl -s "$connect_url/connectors/$1/status" >&2 || true
      exit 1
    fi
    sleep 1
    state=$(curl -sf -m 5 "$connect_url/connectors/$1/status" 2>/dev/null |
      jq -r '[.connector.state] + [.tasks[].state] | join(",")' 2>/dev/null || true)
  done
  log "connector $1 running"
}
register cdcflow-types-on pgtypes true
register cdcflow-types-off pgtypesoff false
# The connectors take their (empty) snapshot before streaming; give them a moment.
sleep 5
psql -d "$db" -f "$here/pg/all_types_dml.sql" >/dev/null

# 2 inserts, 2 updates, a delete and its tombstone, a truncate.
expected=7
capture() {  # topic out-file
  local deadline=$((SECONDS + timeout)) n=0
  while :; do
    kcat -b "$bootstrap" -C -t "$1" -o beginning -e -q -f '%k\t%s\n' >"$2.tmp" 2>/dev/null || true
    n=$(wc -l <"$2.tmp")
    ((n >= expected)) && break
    if ((SECONDS >= deadline)); then
      log "topic $1 has $n of $expected messages after ${timeout}s"
      exit 1
    fi
    sleep 2
  done
  mv "$2.tmp" "$2"
  log "wrote $n messages of $1 to $2"
}
capture pgtypes.public.all_types "$here/testdata/postgres_all_types.schemas-on.tsv"
capture pgtypesoff.public.all_types "$here/testdata/postgres_all_types.schemas-off.tsv"
