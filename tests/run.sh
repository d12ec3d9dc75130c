#!/usr/bin/env bash
# The whole test suite, as the README's second command and CI run it:
#   1. installs what it needs (system packages, Java artefacts on first use),
#   2. builds release and ASan+UBSan trees,
#   3. runs unit tests in both, then integration and end-to-end tests against real
#      servers that the tests start themselves (and stop afterwards).
# Usage: bash tests/run.sh [--unit-only]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
unit_only=0
[[ "${1:-}" == "--unit-only" ]] && unit_only=1

export CCACHE_BASEDIR="$root"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
jobs=$(nproc)

t0=$SECONDS
stamp() { echo "== [$((SECONDS - t0))s] $*"; }

stamp "install dependencies"
bash deploy/install-deps.sh
bash deploy/install-tools.sh   # helm, docker compose (config only), venv for the deploy tests

stamp "build release"
cmake --preset release >/dev/null
cmake --build build/release -j "$jobs"

stamp "build asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake --preset asan >/dev/null
cmake --build build/asan -j "$jobs"

status=0
stamp "unit tests (release)"
ctest --test-dir build/release -L unit --output-on-failure -j "$jobs" || status=1
stamp "unit tests (asan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan -L unit --output-on-failure -j "$jobs" || status=1

if ((unit_only == 0)); then
  stamp "fuzzers (clang, ASan+UBSan, bounded time)"
  bash tests/fuzz/run_fuzzers.sh || status=1
  stamp "integration and end-to-end tests (real servers)"
  ctest --test-dir build/release -L 'integration|e2e' --output-on-failure || status=1
fi
stamp "done (status $status)"
exit $status
