#!/usr/bin/env bash
# `make test-vllm`, and a stage of `make test`: the end-to-end story test with the story told by
# `vllm serve` on the CPU.
#
#   scripts/test-vllm.sh            environments, vLLM, the tests of services/tests/vllm, vLLM stopped
#   scripts/test-vllm.sh --speed    the same, then tokens/s of vLLM against `storybang inference`
#
# vLLM runs from .venv-vllm (scripts/vllm-env.sh), serving the bundled SmolLM2 from the folder that
# `storybang inference` converts it into, under the name "smollm2". The storybang roles and pytest
# run from .venv-inference. Measured here: .venv-vllm made from nothing in about 90 s (6 GB), vLLM
# ready in about 30 s (--enforce-eager), the tests in about a minute.
#
# The real stores are shared with whoever else tests on this machine: when they are running they
# are used as they are, when they are down they are started, and they are never stopped here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
INFERENCE_PY="$ROOT/.venv-inference/bin/python"
VLLM_BIN="$ROOT/${VLLM_VENV:-.venv-vllm}/bin/vllm"
# A cold start (a first compile of the model, on a busy two-core machine) has taken about 100 s.
READY_TIMEOUT_S=${VLLM_READY_TIMEOUT_S:-900}
SPEED=0
[[ ${1:-} == --speed ]] && SPEED=1
step() { printf '\n== %s\n' "$*"; }
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
LOG_PREFIX=test-vllm PROC_DIR=$(mktemp -d -t storybang-vllm.XXXXXX) LOG_DIR=$PROC_DIR

step "environments: .venv-inference, .venv-vllm"
scripts/inference-env.sh
scripts/vllm-env.sh

step "real servers"
if ! scripts/servers.sh status; then
  scripts/servers.sh install
  scripts/servers.sh start
fi
# shellcheck disable=SC1091
. .servers/env

# The converted SmolLM2 folder (converted here if this machine has none yet).
model=$("$INFERENCE_PY" -c '
from storybang.inference import weights
from storybang.inference.settings import BUNDLED, InferenceSettings
print(weights.resolve(BUNDLED, InferenceSettings().cache_dir))
')
port=$("$INFERENCE_PY" -c 'from storybang_testing.waiting import free_port; print(free_port())')
url="http://127.0.0.1:$port/v1"

step "vllm serve $model on 127.0.0.1:$port (log: $LOG_DIR/vllm.log)"
# The CPU platform, a KV cache small enough for a shared machine (GiB; 2048 tokens x 11 at once),
# no hub (the model is a local folder, and only package registries are reachable here) and no usage
# reports sent out.
export VLLM_TARGET_DEVICE=cpu VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1}
export HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
# float32: the dtype `storybang inference` uses on a CPU, so the speed comparison is like for like
# (bfloat16 was about 1.5x faster on this AMX machine). --enforce-eager: without it vLLM compiles the
# model at start, about 100 s here instead of 30, for a few per cent more tokens/s (within the noise
# of a shared machine). VLLM_ARGS replaces these flags.
# shellcheck disable=SC2086  # VLLM_ARGS is a list of flags
proc_start vllm "$VLLM_BIN" serve "$model" --served-model-name smollm2 --host 127.0.0.1 --port "$port" \
  ${VLLM_ARGS:---dtype float32 --max-model-len 2048 --enforce-eager}
# Its engine and worker processes, forked later, inherit the lower priority.
renice -n 10 -p "$(proc_pid vllm)" >/dev/null
# vLLM's API server leads its own process group: its engine and worker processes stop with it.
trap 'proc_stop vllm 30' EXIT

start=$SECONDS
proc_wait vllm "$READY_TIMEOUT_S" curl -sf -o /dev/null "$url/models"
echo "vllm: ready in $((SECONDS - start)) s"

step "tests: services/tests/vllm"
(cd services && STORYBANG_TEST_VLLM_URL="$url" nice "$ROOT/.venv-inference/bin/pytest" -q -p no:cacheprovider tests/vllm)

if ((SPEED)); then
  step "speed: vLLM-CPU against storybang inference"
  (cd services && nice "$INFERENCE_PY" -m tests.vllm.speed --vllm "$url")
fi
