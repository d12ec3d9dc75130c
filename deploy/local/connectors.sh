#!/usr/bin/env bash
# Registers the Debezium connectors of deploy/connect/*.json with the local Kafka Connect worker
# (deploy/local/services.sh start connect postgres) and waits until they run.
#
# Usage: connectors.sh register [--set KEY=VALUE]... [NAME...]   create or update, wait RUNNING
#        connectors.sh delete [NAME...]    remove connectors, their replication slots and publications
#        connectors.sh status [NAME...]
# NAME is a file name in deploy/connect without .json (default: all of them). The configs' database
# port follows CDCFLOW_PG_PORT; --set overrides any other key, e.g.
#   connectors.sh register --set value.converter.schemas.enable=false cdcflow-orders
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
config_dir=$repo_root/deploy/connect
PG_PORT=${CDCFLOW_PG_PORT:-5432}
CONNECT_URL=http://127.0.0.1:${CDCFLOW_CONNECT_PORT:-8081}
TIMEOUT=${CDCFLOW_CONNECTOR_TIMEOUT:-90}

log() { echo "connectors: $*" >&2; }

names() {
  if (($#)); then
    printf '%s\n' "$@"
  else
    local f
    for f in "$config_dir"/*.json; do basename "$f" .json; done
  fi
}

config_of() {
  local name=$1
  shift
  local file=$config_dir/$name.json
  [[ -f $file ]] || {
    log "no connector config $file"
    exit 2
  }
  local filter='.config | .["database.port"] = $port'
  local kv
  for kv in "$@"; do
    filter+=" | .[\"${kv%%=*}\"] = \"${kv#*=}\""
  done
  jq --arg port "$PG_PORT" "$filter" "$file"
}

connector_state() {
  curl -sf -m 5 "$CONNECT_URL/connectors/$1/status" 2>/dev/null |
    jq -r '[.connector.state] + [.tasks[].state] | join(",")' 2>/dev/null || true
}

cmd_register() {
  local sets=()
  while (($#)) && [[ $1 == --set ]]; do
    sets+=("$2")
    shift 2
  done
  local name
  for name in $(names "$@"); do
    local body
    body=$(config_of "$name" "${sets[@]+"${sets[@]}"}")
    local code
    code=$(curl -s -m 30 -o /tmp/connectors.$$.out -w '%{http_code}' -X PUT \
      -H 'Content-Type: application/json' --data "$body" "$CONNECT_URL/connectors/$name/config")
    if [[ $code != 200 && $code != 201 ]]; then
      log "FAILED to register $name (HTTP $code at $CONNECT_URL): $(cat /tmp/connectors.$$.out)"
      rm -f /tmp/connectors.$$.out
      exit 1
    fi
    rm -f /tmp/connectors.$$.out
    local deadline=$((SECONDS + TIMEOUT)) state=""
    while :; do
      state=$(connector_state "$name")
      [[ $state == RUNNING,RUNNING ]] && break
      if [[ $state == *FAILED* ]] || ((SECONDS >= deadline)); then
        log "connector $name is not running (state '$state'); see the Connect log:"
        curl -s -m 5 "$CONNECT_URL/connectors/$name/status" >&2 || true
        echo >&2
        exit 1
      fi
      sleep 0.5
    done
    log "$name running"
  done
}

cmd_delete() {
  local name
  for name in $(names "$@"); do
    curl -s -m 30 -o /dev/null -X DELETE "$CONNECT_URL/connectors/$name" || true
    local file=$config_dir/$name.json
    [[ -f $file ]] || continue
    local db slot pub
    db=$(jq -r '.config["database.dbname"]' "$file")
    slot=$(jq -r '.config["slot.name"]' "$file")
    pub=$(jq -r '.config["publication.name"]' "$file")
    # The task lets go of its slot a moment after the delete returns.
    local i
    for ((i = 0; i < 40; i++)); do
      if psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -qtAc \
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
         WHERE slot_name = '$slot'" >/dev/null 2>&1; then
        break
      fi
      sleep 0.5
    done
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -qc "DROP PUBLICATION IF EXISTS $pub" \
      >/dev/null 2>&1 || true
    log "$name deleted"
  done
}

cmd_status() {
  local name
  for name in $(names "$@"); do
    printf '%-20s %s\n' "$name" "$(connector_state "$name" | sed 's/^$/absent/')"
  done
}

case ${1:-} in
  register) shift && cmd_register "$@" ;;
  delete) shift && cmd_delete "$@" ;;
  status) shift && cmd_status "$@" ;;
  *)
    echo "usage: $0 register [--set KEY=VALUE]... [NAME...] | delete [NAME...] | status [NAME...]" >&2
    exit 2
    ;;
esac
