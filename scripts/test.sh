#!/usr/bin/env bash
# `make test`: install and start what the tests need, run every check and every test, stop it all.
#
# Order: fast static checks first, the web client (which builds web/dist, part of the storybang
# image), then the services on the real stores (MariaDB, FerretDB, Redis), the model-running tests
# in their own environment (torch), the story through `vllm serve` (scripts/test-vllm.sh), the
# operator, the chart, the contract between the pods the operator renders and the services'
# settings, and last the whole system on a real Kubernetes API server with a real node.
#
# The real node's runtime, kubelet and DNS (CLUSTER_NODE=real scripts/cluster.sh build) and the
# images it runs (scripts/images.sh cluster previous) are made in the background, at the lowest
# priority, while the services', models' and operator's tests run: those keep about one core of two
# busy. The last stage waits for them (and shows their log if they failed).
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

step "web client: typed API client up to date, build, unit tests, browser tests on storybang dev"
# On the environment `make dev` makes: llama.cpp and the bundled model, no torch, a small first download.
INFERENCE_VENV=.venv-dev INFERENCE_EXTRAS=llama scripts/inference-env.sh
"$VENV/bin/python" scripts/downloads.py --extra llama --most 500
scripts/web.sh test

step "background: the real node's runtime, kubelet and DNS, and the images it runs"
real_node_log=$(mktemp "${TMPDIR:-/tmp}/storybang-real-node.XXXXXX")
real_node=
# On the way out, whatever happens: the background build (its whole process group) and the servers.
cleanup() {
  [[ -z $real_node ]] || kill -- "-$real_node" 2>/dev/null || true
  scripts/servers.sh stop
}
trap cleanup EXIT
setsid bash -c 'CLUSTER_NODE=real nice -n 19 scripts/cluster.sh build && nice -n 19 scripts/images.sh cluster previous' \
  >"$real_node_log" 2>&1 &
real_node=$!
echo "building in the background (log: $real_node_log)"

scripts/servers.sh start
# shellcheck disable=SC1091
. .servers/env

step "services (real MariaDB, FerretDB, Redis)"
(cd services && "$ROOT/$VENV/bin/pytest" "${PYTEST[@]}" --ignore=tests/inference --ignore=tests/models --ignore=tests/vllm)

step "models: inference server and generation with real models"
(cd services && "$ROOT/.venv-inference/bin/pytest" "${PYTEST[@]}" tests/inference tests/models)

step "vLLM: the story told by \`vllm serve\` on the CPU build of vLLM"
scripts/test-vllm.sh

step "operator"
(cd operator && "$ROOT/$VENV/bin/pytest" "${PYTEST[@]}" --ignore=tests/cluster)

step "chart"
scripts/chart.sh test

step "contract: every STORYBANG_* variable the operator and the chart set is one the services read"
(cd tests/contract && "$ROOT/$VENV/bin/pytest" "${PYTEST[@]}")

step "the system on a real Kubernetes API server, with a real node"
waited=$SECONDS
if ! wait "$real_node"; then
  real_node=
  cat "$real_node_log"
  echo "the real node's tools or the images it runs could not be built (above)" >&2
  exit 1
fi
real_node=
echo "the background build was ready $((SECONDS - waited)) s after the tests before it"
rm -f "$real_node_log"
scripts/e2e.sh
