#!/usr/bin/env bash
# Builds every libFuzzer target with clang under ASan+UBSan in its own build tree
# (build/fuzz) and runs each for a bounded time on its saved corpus. New inputs
# go to a scratch directory, so the saved corpus only changes when someone copies
# a finding into it on purpose. Exits non-zero when a fuzzer finds a crash.
# Usage: bash tests/fuzz/run_fuzzers.sh [seconds per target, default 60]
# The mutations start from a fixed seed (CDCFLOW_FUZZ_SEED, default 1), so that a test
# run does not turn red on a new random finding in code it did not change (2026-11-26:
# a 60 s run found an old decoder bug); CDCFLOW_FUZZ_SEED=0 (random) and more seconds
# explore further, on demand.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-${CDCFLOW_FUZZ_SECONDS:-60}}
seed=${CDCFLOW_FUZZ_SEED:-1}
build=build/fuzz

export CCACHE_BASEDIR="$(pwd)"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCDCFLOW_BUILD_FUZZERS=ON -DCDCFLOW_SANITIZE=address -DCDCFLOW_BUILD_BENCHMARKS=OFF >/dev/null

# target name -> saved corpus
declare -A corpora=(
  [debezium_decoder_fuzzer]=connectors/debezium/fuzz/corpus
)
cmake --build "$build" -j "$(nproc)" --target "${!corpora[@]}"

status=0
for target in "${!corpora[@]}"; do
  scratch=$(mktemp -d)
  artifacts=$(mktemp -d)
  echo "fuzz: $target for ${seconds}s, seed $seed (corpus ${corpora[$target]})"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/bin/$target" -seed="$seed" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "${corpora[$target]}" \
      >"$artifacts/log" 2>&1; then
    status=1
    tail -n 60 "$artifacts/log"
    echo "fuzz: $target FAILED; reproducer(s) in $artifacts:"
    ls -l "$artifacts"
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$artifacts/log" | tail -n 2
    echo "fuzz: $target ok"
    rm -rf "$artifacts"
  fi
  rm -rf "$scratch"
done
exit $status
