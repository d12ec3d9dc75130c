#!/usr/bin/env bash
# The Flink benchmark (issue #10) in one command: cdcflow vs Apache Flink vs the ceiling on the
# same machine, the same Kafka and the same backlog. See bench/README.md.
#
# Usage: bash bench/run.sh [--events N] [--engines ceiling,flink,cdcflow] [--repeat K]
#                          [--rate auto|N] [--live-seconds S] [--no-live] [--no-recovery]
#                          [--no-catch-up] [--profile cdcflow] [--backlog NAME]
#                          [--generate-only] [--note TEXT] [--stop]
#   --events N      backlog size (default 2000000); an existing larger backlog is reused as is,
#                   a smaller one is topped up through PostgreSQL -> Debezium
#   --cdcflow-job-args "k=v ..."  extra job arguments of cdcflow's order_enrichment
#   --cdcflow-tm-args "--flag v ..."  extra flags of cdcflow's task managers
#   --cdcflow-state rocksdb|memory  where cdcflow keeps keyed state (default rocksdb, as Flink's
#                   peer; memory: in the heap, as Flink's HashMapStateBackend)
#   --cdcflow-task-managers N --cdcflow-slots S  cdcflow's workers (default 1 task manager
#                   with 2 slots: one worker process, as Flink's MiniCluster; 2 and 1 spread
#                   the job over two processes and its shuffles over the network exchange)
#   --profile E     perf record of engine E's processes for 20 s of its catch-up; the report
#                   goes to the results folder (profile-<run>.txt)
#   --backlog NAME  a backlog set of its own (database bench_NAME, topics NAME.public.*), so that
#                   backlogs of several sizes can be kept; default: the pipeline's pg.public.*
#   --generate-only make (or top up) the backlog and exit
#   --results-sub NAME  write the results and report to bench/results/<UTC date>/NAME (a run
#                   of its own, e.g. on another backlog; the day's main report is not touched)
#   --stop          stop the benchmark's servers and exit (the backlog stays on disk)
# Its own servers (never the demo's): PostgreSQL, Kafka, Kafka Connect + Debezium from
# deploy/local/services.sh, with data under CDCFLOW_BENCH_DIR (~/.cache/cdcflow/bench) and
# ports 35432, 39092/39093, 38081 (CDCFLOW_BENCH_*_PORT to change). They keep running after
# the benchmark so that the next run reuses the backlog.
# Results: bench/results/<UTC date>/report.md + chart.png + results-*.json; bench/results/latest
# links the newest folder.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)
state=${CDCFLOW_BENCH_DIR:-$HOME/.cache/cdcflow/bench}
export CDCFLOW_LOCAL_DIR=$state/local
export CDCFLOW_PG_PORT=${CDCFLOW_BENCH_PG_PORT:-35432}
export CDCFLOW_KAFKA_PORT=${CDCFLOW_BENCH_KAFKA_PORT:-39092}
export CDCFLOW_KAFKA_CONTROLLER_PORT=${CDCFLOW_BENCH_KAFKA_CONTROLLER_PORT:-39093}
export CDCFLOW_CONNECT_PORT=${CDCFLOW_BENCH_CONNECT_PORT:-38081}
build=${CDCFLOW_BENCH_BUILD:-$repo/build/release}
venv=${CDCFLOW_TOOLS_DIR:-$HOME/.cache/cdcflow/tools}/venv-bench-1
flink_version=2.2.0

log() { echo "bench: $*" >&2; }

engines=ceiling,flink,cdcflow
note=""
generate_only=""
results_sub=""
harness_args=()
while (($#)); do
  case $1 in
    --stop)
      bash "$repo/deploy/local/services.sh" stop postgres kafka connect
      exit 0 ;;
    --engines) engines=$2; harness_args+=("$1" "$2"); shift 2 ;;
    --note) note=$2; shift 2 ;;
    --results-sub) results_sub=$2; shift 2 ;;
    --cdcflow-job-args | --cdcflow-tm-args) harness_args+=("$1=$2"); shift 2 ;;
    --cdcflow-task-managers | --cdcflow-slots | --cdcflow-state) harness_args+=("$1" "$2"); shift 2 ;;
    --events | --repeat | --rate | --live-seconds | --profile | --backlog) harness_args+=("$1" "$2"); shift 2 ;;
    --generate-only) engines=""; generate_only=1; harness_args+=("$1"); shift ;;
    --no-live | --no-recovery | --no-catch-up) harness_args+=("$1"); shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) log "unknown argument $1 (see --help)"; exit 2 ;;
  esac
done
has() { [[ ",$engines," == *",$1,"* ]]; }

mkdir -p "$state"
# One run at a time: runs share the servers, the work dir and the topic names (a run
# deletes the topics an interrupted run left behind, which would be another's).
exec 9>"$state/run.lock"
if ! flock -n 9; then
  log "another benchmark run holds $state/run.lock; waiting for it"
  flock 9
fi

# --- tools --------------------------------------------------------------------------------
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import confluent_kafka, matplotlib, psycopg2' 2>/dev/null; then
  log "creating the venv $venv (confluent-kafka, matplotlib, psycopg2-binary)"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check confluent-kafka==2.16.1 \
    matplotlib==3.11.2 psycopg2-binary==2.9.13
fi

# --- engines ------------------------------------------------------------------------------
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work} CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
[[ -f $build/CMakeCache.txt ]] || (cd "$repo" && cmake --preset release >/dev/null)
targets=()
has ceiling && targets+=(bench_ceiling)
# CDCFLOW_BENCH_CDCFLOW_BIN + CDCFLOW_BENCH_JOB: an already built cdcflow binary and job plugin
# (e.g. another checkout's) instead of building them here.
cdcflow_bin=${CDCFLOW_BENCH_CDCFLOW_BIN:-$build/bin/cdcflow}
cdcflow_job=${CDCFLOW_BENCH_JOB:-$build/jobs/order_enrichment.so}
if has cdcflow && [[ -z ${CDCFLOW_BENCH_CDCFLOW_BIN:-} ]]; then
  targets+=(cdcflow order_enrichment)
fi
if ((${#targets[@]})); then
  log "building ${targets[*]}"
  nice cmake --build "$build" -j2 --target "${targets[@]}" >"$state/build.log" 2>&1 ||
    { tail -30 "$state/build.log"; log "build failed; see $state/build.log"; exit 1; }
fi
flink_cp=""
if has flink; then
  flink_lib=$state/flink-lib-$(sha256sum "$bench_dir/flink/pom.xml" | cut -c1-12)
  (cd "$bench_dir/flink" && mvn -B -q package >"$state/mvn.log" 2>&1) ||
    { tail -30 "$state/mvn.log"; log "mvn package failed"; exit 1; }
  if [[ ! -f $flink_lib/.complete ]]; then
    log "fetching Flink $flink_version jars (Maven Central) into $flink_lib"
    rm -rf "$flink_lib"
    (cd "$bench_dir/flink" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$flink_lib") >>"$state/mvn.log" 2>&1 ||
      { tail -30 "$state/mvn.log"; log "fetching Flink failed"; exit 1; }
    touch "$flink_lib/.complete"
  fi
  flink_cp="$bench_dir/flink/target/cdcflow-bench-flink.jar:$flink_lib/*"
fi

# --- servers ------------------------------------------------------------------------------
mkdir -p "$state"
# (The servers must not inherit the lock: they outlive the run.)
bash "$repo/deploy/local/services.sh" start postgres kafka connect 9>&-
bash "$repo/deploy/local/connectors.sh" register cdcflow-orders cdcflow-products 9>&-

# --- run ----------------------------------------------------------------------------------
day=$(date -u +%F)
results=$bench_dir/results/$day${results_sub:+/$results_sub}
mkdir -p "$results"
"$venv/bin/python" "$bench_dir/harness/bench.py" "${harness_args[@]}" \
  --bootstrap "127.0.0.1:$CDCFLOW_KAFKA_PORT" --pg-port "$CDCFLOW_PG_PORT" \
  --connect-port "$CDCFLOW_CONNECT_PORT" \
  --results "$results" --workdir "$state/work" --ceiling-bin "$build/bin/bench_ceiling" \
  --flink-classpath "$flink_cp" --flink-version "$flink_version" \
  --cdcflow-bin "$cdcflow_bin" --cdcflow-job "$cdcflow_job"
[[ -z $generate_only ]] || exit 0
"$venv/bin/python" "$bench_dir/harness/report.py" "$results" --note "$note"
[[ -n $results_sub ]] || ln -sfn "$day" "$bench_dir/results/latest"
log "report: $results/report.md"
