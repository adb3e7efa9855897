#!/usr/bin/env bash
# `make test`: install and start what the tests need, run every check and every test, stop it all.
#
# Order: fast static checks first, then the services on the real stores (MariaDB, FerretDB, Redis),
# the model-running tests in their own environment (torch), the operator, the chart, the contract
# between the pods the operator renders and the services' settings, and last the whole system on a
# real Kubernetes API server.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
PYTEST=(-q -p no:cacheprovider)
step() { printf '\n== %s\n' "$*"; }

step "install: servers, model environment, cluster tools"
scripts/servers.sh install
scripts/prometheus.sh install
scripts/inference-env.sh
scripts/cluster.sh build

step "static checks"
scripts/lint.sh

trap 'scripts/servers.sh stop' EXIT
scripts/servers.sh start
# shellcheck disable=SC1091
. .servers/env

step "services (real MariaDB, FerretDB, Redis)"
(cd services && "$ROOT/$VENV/bin/pytest" "${PYTEST[@]}" --ignore=tests/inference --ignore=tests/models --ignore=tests/vllm)

step "models: inference server and generation with real models"
(cd services && "$ROOT/.venv-inference/bin/pytest" "${PYTEST[@]}" tests/inference tests/models)

step "web client: typed API client up to date, build, unit tests, browser tests on storybang dev"
scripts/web.sh test

step "operator"
(cd operator && "$ROOT/$VENV/bin/pytest" "${PYTEST[@]}" --ignore=tests/cluster)

step "chart"
scripts/chart.sh test

step "contract: every STORYBANG_* variable the operator and the chart set is one the services read"
(cd tests/contract && "$ROOT/$VENV/bin/pytest" "${PYTEST[@]}")

step "the system on a real Kubernetes API server"
scripts/e2e.sh
