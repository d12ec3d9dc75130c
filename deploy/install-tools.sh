#!/usr/bin/env bash
# Installs the tools that the deployment tests use, into a cache folder outside the
# repository, so that a second run (and CI on the same machine) installs nothing:
#   helm            built from the Go module proxy (`go install helm.sh/helm/v3/cmd/helm@V`)
#   docker compose  the compose CLI plugin, built from its Go module (only `config` is used:
#                   it validates offline and needs no Docker engine)
#   a Python venv   kubernetes-validate (offline Kubernetes JSON schemas), PyYAML, pymssql
# Usage: bash deploy/install-tools.sh [--print-env]
#   --print-env  prints `export` lines for CDCFLOW_HELM, DOCKER_CONFIG and CDCFLOW_VENV.
# Idempotent. A cold run takes about three minutes on a 2-core machine (mostly compiling Go).
set -euo pipefail

HELM_VERSION=v3.19.5
COMPOSE_VERSION=v2.40.3
KUBERNETES_VALIDATE_VERSION=1.37.0
PYYAML_VERSION=6.0.3
PYMSSQL_VERSION=2.4.6

tools=${CDCFLOW_TOOLS_DIR:-$HOME/.cache/cdcflow/tools}
helm_bin=$tools/helm-$HELM_VERSION/helm
compose_dir=$tools/docker-config-compose-$COMPOSE_VERSION   # a DOCKER_CONFIG dir
compose_bin=$compose_dir/cli-plugins/docker-compose
venv=$tools/venv-k8s-$KUBERNETES_VALIDATE_VERSION

if [[ "${1:-}" == "--print-env" ]]; then
  echo "export CDCFLOW_HELM=$helm_bin DOCKER_CONFIG=$compose_dir CDCFLOW_VENV=$venv"
  exit 0
fi

log() { echo "install-tools: $*" >&2; }
mkdir -p "$tools"

# Go builds share one module and build cache under the tools dir's parent, so that a second
# tool reuses the first one's compiled dependencies.
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
export GOMODCACHE=${GOMODCACHE:-$(go env GOMODCACHE)}

if [[ ! -x "$helm_bin" ]]; then
  command -v go >/dev/null || { log "go is required to build helm"; exit 1; }
  log "building helm $HELM_VERSION (go install, about a minute cold)"
  tmp=$(mktemp -d "$tools/helm.XXXXXX")
  GOBIN=$tmp nice go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mkdir -p "$(dirname "$helm_bin")" && mv "$tmp/helm" "$helm_bin" && rmdir "$tmp"
fi

if [[ ! -x "$compose_bin" ]]; then
  command -v go >/dev/null || { log "go is required to build docker compose"; exit 1; }
  # `go install ...@version` refuses modules whose go.mod has exclude directives (compose's
  # does), so build it inside a writable copy of the module, where they apply as intended.
  log "building the docker compose plugin $COMPOSE_VERSION (about a minute and a half cold)"
  src=$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  tmp=$(mktemp -d "$tools/compose.XXXXXX")
  cp -r "$src/." "$tmp/src" 2>/dev/null || cp -r "$src" "$tmp/src"
  chmod -R u+w "$tmp/src"
  (cd "$tmp/src" && nice go build -trimpath -o "$tmp/docker-compose" ./cmd)
  mkdir -p "$(dirname "$compose_bin")" && mv "$tmp/docker-compose" "$compose_bin"
  rm -rf "$tmp"
fi

if [[ ! -x "$venv/bin/kubernetes-validate" ]]; then
  log "creating the venv $venv (kubernetes-validate $KUBERNETES_VALIDATE_VERSION)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "PyYAML==$PYYAML_VERSION" \
    "pymssql==$PYMSSQL_VERSION"
fi
log "helm $("$helm_bin" version --short), compose $("$compose_bin" version --short), venv ok"
