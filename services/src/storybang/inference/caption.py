"""Captions with a transformers image-to-text model (VisionEncoderDecoder, BLIP, ...), for
/v1/captions: the `describe` task where no vision chat model is deployed."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from storybang.inference import weights

# A caption is a sentence or two; the describe task asks for no more.
MAX_CAPTION_TOKENS = 64


class Captioner:
    def __init__(self, model: Any, processor: Any, tokenizer: Any) -> None:
        self.model, self.processor, self.tokenizer = model, processor, tokenizer
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caption")

    @classmethod
    def load(cls, source: Path, device: str = "auto") -> Captioner:
        return cls(*weights.load_image_to_text(source, weights.placement(device)))

    async def caption(self, image: bytes) -> str:
        """``image`` must have passed :func:`storybang.images.check` (format, size, pixels)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._caption, image)

    def _caption(self, image: bytes) -> str:
        with Image.open(io.BytesIO(image)) as picture:
            rgb = picture.convert("RGB")
        pixels = self.processor(images=rgb, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            out = self.model.generate(
                pixel_values=pixels.to(self.model.device, self.model.dtype), max_new_tokens=MAX_CAPTION_TOKENS
            )
        return str(self.tokenizer.decode(out[0], skip_special_tokens=True)).strip()
