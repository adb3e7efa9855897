#!/usr/bin/env bash
# `make test`: install and start the real servers, run every check and every test, stop the servers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"

scripts/servers.sh install
trap 'scripts/servers.sh stop' EXIT
scripts/servers.sh start
# shellcheck disable=SC1091
. .servers/env

scripts/lint.sh
(cd services && "$ROOT/$VENV/bin/pytest" -q -p no:cacheprovider)
(cd operator && "$ROOT/$VENV/bin/pytest" -q -p no:cacheprovider)
