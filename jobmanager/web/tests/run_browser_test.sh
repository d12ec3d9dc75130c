#!/usr/bin/env bash
# Installs playwright-core (npm, exact versions from package-lock.json; no browser
# download) into WORK_DIR and runs dashboard_test.mjs with Debian's chromium.
# Usage: run_browser_test.sh WORK_DIR [dashboard_test.mjs args...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1
shift
command -v node >/dev/null || { echo "node is missing (deploy/install-deps.sh)"; exit 1; }
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || { echo "chromium is missing (deploy/install-deps.sh)"; exit 1; }
mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/dashboard_test.mjs" "$work/"
if ! cmp -s "$here/package-lock.json" "$work/node_modules/.installed-lock" 2>/dev/null; then
  (cd "$work" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$work/node_modules/.installed-lock"
fi
# Node resolves playwright-core next to the script, so the caller's paths stay valid.
exec node "$work/dashboard_test.mjs" "$@"
