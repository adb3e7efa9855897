#!/usr/bin/env bash
# `make bench`: start the real servers and print the benchmarks' figures and ratios.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/${VENV:-.venv}/bin/python"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
scripts/servers.sh install
trap 'scripts/servers.sh stop' EXIT
scripts/servers.sh start
# shellcheck disable=SC1091
. .servers/env
(cd services && "$PY" -m bench.api)
