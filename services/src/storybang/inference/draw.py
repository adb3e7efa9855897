"""Pictures from text with a diffusers pipeline (Stable Diffusion and its kin), for
/v1/images/generations: portraits of characters and illustrations of paragraphs.

One picture at a time, in a thread of its own: a pipeline is not safe to call from two threads, and
on a CPU a second picture at once only slows both. The event loop stays free meanwhile.
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from storybang.inference import weights
from storybang.inference.errors import ContentRefused


@dataclass(frozen=True)
class Steps:
    """How a picture is denoised: the server's settings, the same for every request."""

    count: int
    guidance_scale: float | None = None


class Drawer:
    def __init__(self, pipeline: Any, *, name: str, steps: Steps) -> None:
        self.pipeline, self.name, self.steps = pipeline, name, steps
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="draw")

    @classmethod
    def load(cls, source: Path, *, name: str = "", steps: Steps, device: str = "auto") -> Drawer:
        pipeline = weights.load_text_to_image(source, weights.placement(device))
        return cls(pipeline, name=name or weights.served_name(str(source)), steps=steps)

    async def draw(self, prompt: str, *, size: tuple[int, int] | None = None, seed: int | None = None) -> bytes:
        """A PNG of ``prompt``, ``size`` (width, height) or the size the model was trained at, which
        it draws best. Raises :class:`ContentRefused` when the checkpoint's safety checker flags the
        picture (the pipeline would hand back a black square)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._draw, prompt, size, seed)

    def _draw(self, prompt: str, size: tuple[int, int] | None, seed: int | None) -> bytes:
        kwargs: dict[str, Any] = {"num_inference_steps": self.steps.count}
        if size is not None:
            kwargs["width"], kwargs["height"] = size
        if self.steps.guidance_scale is not None:
            kwargs["guidance_scale"] = self.steps.guidance_scale
        if seed is not None:
            kwargs["generator"] = torch.Generator(device=self.pipeline.device).manual_seed(seed)
        with torch.inference_mode():
            out = self.pipeline(prompt, num_images_per_prompt=1, **kwargs)
        flagged = getattr(out, "nsfw_content_detected", None)
        if flagged and flagged[0]:
            raise ContentRefused("the model's safety checker refused the picture: try another prompt")
        buffer = io.BytesIO()
        out.images[0].save(buffer, format="PNG")
        return buffer.getvalue()
