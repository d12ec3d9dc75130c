#!/usr/bin/env bash
# Installs every system package cdcflow needs to build, test and run its local
# pipeline on Debian 12. Idempotent: a second run installs nothing new.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev librdkafka-dev libcurl4-openssl-dev libabsl-dev libgtest-dev libgmock-dev
  libsimdjson-dev nlohmann-json3-dev libcli11-dev libbenchmark-dev libssl-dev libjemalloc-dev
  postgresql-15 postgresql-client-15 kcat
  openjdk-17-jre-headless maven python3 python3-psycopg2 procps iproute2 jq
  libcpp-httplib-dev chromium python3-venv
  openjdk-17-jdk-headless  # javac, for deploy/local/opensearch/LocalOpenSearch.java
)
# Test-only tools, not needed to build the image (deploy/docker): clang + libFuzzer
# runtime for tests/fuzz/run_fuzzers.sh.
packages+=(clang libclang-rt-14-dev)
packages+=(linux-perf)  # bench/run.sh --profile

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all system packages present"
fi
