"""The settings of `storybang inference` (prefix ``STORYBANG_INFERENCE_``), loaded at its entry point.

Kept apart from :class:`storybang.settings.Settings` on purpose: an inference pod has no database,
store or signing key, and must not be refused start-up for lacking them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from storybang.settings import LimitSettings, LogSettings

BUNDLED = "smollm2"
# Where the bundled GGUF becomes a transformers folder, once per machine (or per model-cache PVC).
DEFAULT_CACHE_DIR = Path("~/.cache/storybang/models/smollm2-135m-instruct").expanduser()
# The engine of the text model: "auto" picks llama.cpp for a GGUF model (the bundled one, or a
# .gguf path) on a CPU, transformers for the rest (storybang.inference.engine).
EngineName = Literal["auto", "llama.cpp", "transformers"]


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STORYBANG_INFERENCE_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    # "smollm2" (the bundled SmolLM2-135M-Instruct), a .gguf file, a Hugging Face folder or PVC path,
    # or a hub id where the hub is reachable.
    model: str = BUNDLED
    # The name clients send as "model" and /v1/models lists; empty: derived from ``model``.
    served_model_name: str = ""
    engine: EngineName = "auto"
    # A seq2seq folder for /v1/translations (NLLB-200, Marian, ...). NLLB is CC-BY-NC: non-commercial.
    translation_model: Path | None = None
    # An image-to-text folder for /v1/captions (VisionEncoderDecoder, BLIP, ...).
    caption_model: Path | None = None
    # A diffusers text-to-image folder for /v1/images/generations (a Stable Diffusion checkpoint saved
    # with ``save_pretrained``, SD-Turbo, ...), and the name clients send as "model" (empty: the folder's).
    image_model: Path | None = None
    served_image_model_name: str = ""
    # Denoising steps per image. Few, because a CPU takes seconds per step at 512x512: enough for the
    # distilled models (SD-Turbo, LCM) that CPUs can run; a full Stable Diffusion wants 20-50, on a GPU.
    image_steps: int = Field(4, ge=1, le=150)
    # Classifier-free guidance; None keeps the pipeline's own default (7.5 for Stable Diffusion).
    # Distilled models want 0 (SD-Turbo) or about 1.5 (LCM).
    image_guidance_scale: float | None = Field(None, ge=0, le=30)
    # The largest side a request may ask for: memory and time grow with the square of it.
    image_max_side: int = Field(1024, ge=64, le=4096)
    cache_dir: Path = DEFAULT_CACHE_DIR
    host: str = "0.0.0.0"  # noqa: S104 - a pod listens on all interfaces
    port: int = Field(8000, ge=1, le=65535)
    # "auto": CUDA when available, else CPU. Or "cpu", "cuda", "cuda:1".
    device: str = "auto"
    # CPU threads for torch; None keeps torch's default (the machine's cores). On a shared or
    # CPU-limited node set it to the cores you really have: OpenMP threads spinning against other
    # work made generation ten times slower on a loaded 2-core machine.
    threads: int | None = Field(None, ge=1)
    # Used when a request sends no max_tokens, and the most a request may ask for.
    default_max_tokens: int = Field(512, ge=1)
    max_tokens_limit: int = Field(4096, ge=1)
    # Image uploads for /v1/captions: bytes and pixels, checked before decoding.
    limits: LimitSettings = LimitSettings()
    log: LogSettings = LogSettings(format="json")
