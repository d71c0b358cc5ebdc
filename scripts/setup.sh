#!/usr/bin/env bash
# Installs what weft needs on a fresh machine: Node.js 24 (into ./.node24, from the npm
# registry) and the npm dependencies. With --system (as root) also the Debian packages the
# tests and benchmarks use (iptables, iproute2, tcpdump, a C compiler for the SO_ORIGINAL_DST
# addon; hey, wrk and haproxy for the proxy benchmark) and the chart renderer from ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--system" ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Root runs apt directly (CI, containers); anyone else goes through sudo.
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo -E"; fi
  $as_root apt-get update -qq
  $as_root apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    iptables iproute2 tcpdump openssl util-linux ca-certificates curl gcc libc6-dev linux-libc-dev \
    hey wrk haproxy nghttp2-client >/dev/null
  if [ -f ../shared/tools/chart-render/build.sh ]; then bash ../shared/tools/chart-render/build.sh >/dev/null; fi
fi
bash scripts/node24.sh
PATH="$PWD/.node24/node_modules/.bin:$PATH" npm ci --no-audit --no-fund --loglevel=error
