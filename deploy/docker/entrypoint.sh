#!/usr/bin/env bash
# The cdcflow image's entry point: turns the container command plus CDCFLOW_* environment
# variables into one `cdcflow` command line and execs it (so the process gets signals directly).
#
#   jobmanager [ARGS]         cdcflow jobmanager --port $CDCFLOW_JM_PORT [--bind $CDCFLOW_BIND]
#                               [--rest-bind $CDCFLOW_REST_BIND] [--rest-port $CDCFLOW_HTTP_PORT]
#                               [--connect-url $CDCFLOW_CONNECT_URL] $CDCFLOW_JM_ARGS ARGS
#   taskmanager [ARGS]        cdcflow taskmanager --jobmanager $CDCFLOW_JOBMANAGER
#                               --slots $CDCFLOW_TM_SLOTS --port $CDCFLOW_TM_PORT
#                               [--bind $CDCFLOW_BIND]
#                               [--advertised-address $CDCFLOW_TM_ADVERTISED_HOST:$CDCFLOW_TM_PORT]
#                               [--metrics-port $CDCFLOW_TM_METRICS_PORT] $CDCFLOW_TM_ARGS ARGS
#   run [JOB] [ARGS] [-- JOBARGS]
#                             cdcflow run JOB.so [--jobmanager $CDCFLOW_JOBMANAGER]
#                               [--parallelism $CDCFLOW_PARALLELISM] ARGS -- JOBARGS
#                             JOB is a path, or a name looked up as $CDCFLOW_JOBS_DIR/NAME.so;
#                             default $CDCFLOW_JOB. Without `--`, JOBARGS = $CDCFLOW_JOB_ARGS.
#   list|status|cancel|savepoint|decode|version|help|--help|--version [ARGS]
#                             cdcflow VERB ARGS (the CLI reads CDCFLOW_JOBMANAGER itself)
#   anything else             executed as given (e.g. `bash`), for debugging
#
# [--flag $VAR]: passed only when VAR is set (the image sets CDCFLOW_BIND and CDCFLOW_REST_BIND to
# 0.0.0.0: the processes bind 127.0.0.1 by default, unreachable from outside a container).
# Flags given in ARGS win: a flag the entry point would add is left out when ARGS has it.
# CDCFLOW_*_ARGS and CDCFLOW_JOB_ARGS are split on whitespace (no quoting inside them).
# Errors in the environment exit with status 2 and a message naming the variable.
set -euo pipefail

cdcflow=${CDCFLOW_BIN:-cdcflow}
jobs_dir=${CDCFLOW_JOBS_DIR:-/opt/cdcflow/jobs}

die() { echo "cdcflow-entrypoint: $*" >&2; exit 2; }

# require_int NAME VALUE MIN MAX: VALUE must be a decimal integer in [MIN, MAX].
require_int() {
  [[ "$2" =~ ^[0-9]+$ ]] && (( 10#$2 >= $3 && 10#$2 <= $4 )) ||
    die "$1 must be an integer in [$3, $4], got '$2'"
}

# has_flag FLAG ARGS...: true when ARGS (before any `--`) contain FLAG or FLAG=...
has_flag() {
  local flag=$1 a; shift
  for a in "$@"; do
    [[ "$a" == "--" ]] && return 1
    [[ "$a" == "$flag" || "$a" == "$flag="* ]] && return 0
  done
  return 1
}

# add_opt FLAG VAR ARGS...: appends FLAG $VAR to cmd when VAR is set and ARGS lack FLAG.
add_opt() {
  local flag=$1 var=$2; shift 2
  [[ -n "${!var:-}" ]] && ! has_flag "$flag" "$@" && cmd+=("$flag" "${!var}")
  return 0
}

split_words() {  # split_words VAR_NAME: prints nothing; fills the array `words`
  words=()
  local v=${!1:-}
  [[ -n "$v" ]] && read -r -a words <<<"$v"
  return 0
}

verb=${1:-jobmanager}
(($#)) && shift

case "$verb" in
  jobmanager)
    port=${CDCFLOW_JM_PORT:-6123}
    require_int CDCFLOW_JM_PORT "$port" 1 65535
    cmd=("$cdcflow" jobmanager)
    has_flag --port "$@" || cmd+=(--port "$port")
    if [[ -n "${CDCFLOW_HTTP_PORT:-}" ]]; then
      require_int CDCFLOW_HTTP_PORT "$CDCFLOW_HTTP_PORT" 1 65535
    fi
    add_opt --bind CDCFLOW_BIND "$@"
    add_opt --rest-bind CDCFLOW_REST_BIND "$@"
    add_opt --rest-port CDCFLOW_HTTP_PORT "$@"
    add_opt --connect-url CDCFLOW_CONNECT_URL "$@"
    split_words CDCFLOW_JM_ARGS
    cmd+=("${words[@]}" "$@")
    ;;

  taskmanager)
    port=${CDCFLOW_TM_PORT:-6124}
    slots=${CDCFLOW_TM_SLOTS:-1}
    require_int CDCFLOW_TM_PORT "$port" 1 65535
    require_int CDCFLOW_TM_SLOTS "$slots" 1 4096
    cmd=("$cdcflow" taskmanager)
    if ! has_flag --jobmanager "$@"; then
      [[ -n "${CDCFLOW_JOBMANAGER:-}" ]] ||
        die "taskmanager needs CDCFLOW_JOBMANAGER=HOST:PORT (or --jobmanager HOST:PORT)"
      [[ "$CDCFLOW_JOBMANAGER" =~ ^[^:[:space:]]+:[0-9]+$ ]] ||
        die "CDCFLOW_JOBMANAGER must be HOST:PORT, got '$CDCFLOW_JOBMANAGER'"
      cmd+=(--jobmanager "$CDCFLOW_JOBMANAGER")
    fi
    has_flag --slots "$@" || cmd+=(--slots "$slots")
    has_flag --port "$@" || cmd+=(--port "$port")
    add_opt --bind CDCFLOW_BIND "$@"
    if [[ -n "${CDCFLOW_TM_ADVERTISED_HOST:-}" ]] && ! has_flag --advertised-address "$@"; then
      [[ "$CDCFLOW_TM_ADVERTISED_HOST" =~ ^[^:[:space:]]+$ ]] ||
        die "CDCFLOW_TM_ADVERTISED_HOST must be a host name or address, got '$CDCFLOW_TM_ADVERTISED_HOST'"
      cmd+=(--advertised-address "$CDCFLOW_TM_ADVERTISED_HOST:$port")
    fi
    if [[ -n "${CDCFLOW_TM_METRICS_PORT:-}" ]]; then
      require_int CDCFLOW_TM_METRICS_PORT "$CDCFLOW_TM_METRICS_PORT" 1 65535
    fi
    add_opt --metrics-port CDCFLOW_TM_METRICS_PORT "$@"
    split_words CDCFLOW_TM_ARGS
    cmd+=("${words[@]}" "$@")
    ;;

  run)
    job=${CDCFLOW_JOB:-}
    if (($#)) && [[ "$1" != -* ]]; then job=$1; shift; fi
    [[ -n "$job" ]] || die "run needs a job: 'run NAME|PATH.so' or CDCFLOW_JOB"
    if [[ "$job" != */* && "$job" != *.so ]]; then job=$jobs_dir/$job.so; fi
    [[ -f "$job" ]] || die "job plugin '$job' not found (jobs in $jobs_dir: $(
      cd "$jobs_dir" 2>/dev/null && ls -- *.so 2>/dev/null | tr '\n' ' ' || echo none))"
    # Split the caller's arguments into run flags and job arguments at the first `--`.
    flags=() job_args=() seen_sep=0
    for a in "$@"; do
      if ((seen_sep)); then job_args+=("$a");
      elif [[ "$a" == "--" ]]; then seen_sep=1;
      else flags+=("$a"); fi
    done
    if ((!seen_sep)); then split_words CDCFLOW_JOB_ARGS; job_args=("${words[@]}"); fi
    cmd=("$cdcflow" run "$job")
    if [[ -n "${CDCFLOW_JOBMANAGER:-}" ]] && ! has_flag --jobmanager "${flags[@]}"; then
      cmd+=(--jobmanager "$CDCFLOW_JOBMANAGER")
    fi
    if [[ -n "${CDCFLOW_PARALLELISM:-}" ]] && ! has_flag --parallelism "${flags[@]}"; then
      require_int CDCFLOW_PARALLELISM "$CDCFLOW_PARALLELISM" 1 32768
      cmd+=(--parallelism "$CDCFLOW_PARALLELISM")
    fi
    cmd+=("${flags[@]}")
    ((${#job_args[@]})) && cmd+=(-- "${job_args[@]}")
    ;;

  list | status | cancel | savepoint | decode | version | help | --help | -h | --version)
    cmd=("$cdcflow" "$verb" "$@")
    ;;

  *)
    cmd=("$verb" "$@")
    ;;
esac

[[ -n "${CDCFLOW_ENTRYPOINT_DEBUG:-}" ]] && echo "cdcflow-entrypoint: exec ${cmd[*]}" >&2
exec "${cmd[@]}"
