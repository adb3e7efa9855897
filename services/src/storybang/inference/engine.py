"""Which engine runs a text model: llama.cpp for GGUF files on a CPU, transformers for the rest.

llama.cpp runs the bundled Q4_1 file several times faster than transformers runs it de-quantized
on a CPU, starts in a moment and needs no torch (services/bench/story.py). transformers stays the
engine for a GPU, for Hugging Face folders, and for the vision and image models.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from storybang.inference.bundled import BUNDLED_NAMES
from storybang.inference.settings import DEFAULT_CACHE_DIR, EngineName
from storybang.inference.text import TextModel

# Where the NVIDIA driver shows itself (on the host, and in a container given a GPU), looked at
# instead of asking torch: importing torch takes seconds, and this runs before the first story.
_NVIDIA = (Path("/proc/driver/nvidia/version"), Path("/dev/nvidia0"))


def is_gguf(model: str) -> bool:
    return model in BUNDLED_NAMES or model.endswith(".gguf")


def has_gpu() -> bool:
    return any(path.exists() for path in _NVIDIA)


def choose(model: str, engine: EngineName = "auto", device: str = "auto") -> Literal["llama.cpp", "transformers"]:
    """``auto``: llama.cpp for a GGUF model that runs on the CPU (device ``cpu``, or ``auto`` with no
    GPU) when llama-cpp-python is installed; transformers otherwise."""
    if engine != "auto":
        return engine
    on_cpu = device == "cpu" or (device == "auto" and not has_gpu())
    if on_cpu and is_gguf(model) and importlib.util.find_spec("llama_cpp") is not None:
        return "llama.cpp"
    return "transformers"


def load(
    model: str,
    *,
    engine: EngineName = "auto",
    device: str = "auto",
    cache_dir: Path = DEFAULT_CACHE_DIR,
    threads: int | None = None,
    name: str = "",
) -> TextModel:
    """Load ``model`` on the engine :func:`choose` picks — slow: call it from a thread."""
    if choose(model, engine, device) == "llama.cpp":
        from storybang.inference.llama import LlamaModel

        return LlamaModel.load(model, threads=threads, name=name)
    from storybang.inference.local import LocalModel

    return LocalModel.load(model, device=device, cache_dir=cache_dir, threads=threads, name=name)
