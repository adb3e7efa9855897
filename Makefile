# StoryBang — what can be done here. `make help` lists the targets.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
ARGS  ?=

.PHONY: help dev web install test lint bench tools crds chart dashboards e2e e2e-real test-vllm images clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Exactly what uv.lock says: services, operator and the shared test support with their test extras.
$(VENV)/.installed: uv.lock pyproject.toml services/pyproject.toml operator/pyproject.toml testing/pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) scripts/uv.sh sync -q --locked --all-packages --extra test
	touch $@

install: $(VENV)/.installed  ## make the virtual environment (.venv)

dev:  ## run all of StoryBang on http://127.0.0.1:8000, embedded stores and model (ARGS="--port 9000")
	INFERENCE_VENV=.venv-dev INFERENCE_EXTRAS=llama scripts/inference-env.sh
	test -f web/dist/index.html || scripts/web.sh build
	.venv-dev/bin/storybang dev $(ARGS)

web:  ## build the web client into web/dist (npm ci, type-check, vite); `storybang dev` serves it at /
	scripts/web.sh build

lint: install  ## ruff, mypy --strict, import rules, the chart's generated files up to date
	scripts/lint.sh

test: install  ## install and start the real servers, run every check and test, stop the servers
	scripts/test.sh

test-vllm:  ## the end-to-end story told by `vllm serve` on the CPU, alone (part of `make test`; ARGS=--speed: tokens/s)
	scripts/test-vllm.sh $(ARGS)

bench: install  ## benchmarks: figures and ratios, printed
	scripts/bench.sh

tools:  ## build the local Kubernetes control plane, kwok, helm and KEDA's admission webhooks into bin/
	scripts/cluster.sh build
	scripts/keda.sh build

crds:  ## copy crds/ into the Helm chart
	scripts/crds.sh sync

chart: install  ## regenerate the chart's generated files: CRDs, operator RBAC, values schema and tables, dashboards
	scripts/chart.sh sync

dashboards: install  ## write the Grafana dashboards from their code (charts/tools/dashboards); also done by `make chart`
	PYTHONPATH=charts/tools $(PY) -m dashboards charts/storybang/files/dashboards

images:  ## build the images storybang and storybang-operator (Docker, else podman); ARGS=storybang-inference, datastores or cluster (all)
	scripts/images.sh $(ARGS)

e2e: install tools  ## the whole system on a real Kubernetes API server with a real node (root)
	scripts/e2e.sh

e2e-real: install  ## only the real node's tests: the storybang image in real containers (kubelet, containerd); root
	scripts/e2e.sh real

clean:  ## remove local state (not the caches)
	rm -rf .servers .cluster .bench
