#!/usr/bin/env bash
# `make bench`: start the real servers and print every benchmark's figures and ratios. Nothing here
# asserts a timing. BENCH=api,metrics,jobs,notifier,inference,story,operator,web,platform picks some
# (default: all). The model benchmarks (inference, story) and the web client's (web: a real
# `storybang dev` in Debian's chromium, web/bench/) need no servers: BENCH=story alone starts none.
# platform installs the chart's whole platform on a cluster's real node (root; its own cluster).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/${VENV:-.venv}/bin/python"
WANT=",${BENCH:-api,metrics,jobs,notifier,inference,story,operator,web,platform},"
want() { [[ $WANT == *",$1,"* ]]; }

if want api || want metrics || want jobs || want notifier; then
  command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  scripts/servers.sh install
  trap 'scripts/servers.sh stop' EXIT
  scripts/servers.sh start
  # shellcheck disable=SC1091
  . .servers/env
fi

want api && (cd services && "$PY" -m bench.api)
want metrics && (cd services && "$PY" -m bench.metrics)
want jobs && (cd services && "$PY" -m bench.jobs)
want notifier && (cd services && "$PY" -m bench.notifier)
if want inference || want story || want web || want platform; then
  scripts/inference-env.sh
fi
want inference && (cd services && "$ROOT/.venv-inference/bin/python" -m bench.inference)
want story && (cd services && "$ROOT/.venv-inference/bin/python" -m bench.story)
if want web; then
  INFERENCE_VENV=.venv-dev INFERENCE_EXTRAS=llama scripts/inference-env.sh  # what `make dev` runs
  scripts/web.sh build
  scripts/web.sh browser -c bench/playwright.config.ts
fi
if want operator && [ -f tests/e2e/bench_operator.py ]; then
  scripts/cluster.sh build
  "$PY" tests/e2e/bench_operator.py
fi
if want platform; then
  CLUSTER_NODE=real scripts/cluster.sh build
  scripts/images.sh cluster
  "$PY" tests/e2e/bench_platform.py
fi
