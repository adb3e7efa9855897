"""Offline translation with Apertium (Debian packages such as ``apertium-eng-spa``).

Rule-based, fast and free to use; the pairs installed on the machine decide what it can do.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from storybang.generation.backends.base import Completion, Message, OnDelta, Unavailable, Unsupported

# ISO 639-1 → the ISO 639-3 codes Apertium's modes use.
ISO3 = {
    "en": "eng",
    "es": "spa",
    "ca": "cat",
    "fr": "fra",
    "pt": "por",
    "it": "ita",
    "gl": "glg",
    "eo": "epo",
    "ro": "ron",
    "oc": "oci",
    "an": "arg",
    "eu": "eus",
    "nb": "nob",
    "nn": "nno",
    "da": "dan",
    "sv": "swe",
    "is": "isl",
    "cy": "cym",
    "br": "bre",
}
MODES_DIR = Path("/usr/share/apertium/modes")


def _code(language: str) -> str:
    base = language.split("-")[0].split("_")[0].lower()
    return ISO3.get(base, base)


class ApertiumBackend:
    def __init__(self, name: str = "apertium", modes_dir: Path = MODES_DIR) -> None:
        self.name = name
        self._modes_dir = modes_dir

    def pairs(self) -> set[str]:
        if not self._modes_dir.is_dir():
            return set()
        return {p.stem for p in self._modes_dir.glob("*.mode")}

    async def translate(self, text: str, *, source: str, target: str) -> str:
        if shutil.which("apertium") is None:
            raise Unavailable("apertium is not installed")
        pair = f"{_code(source)}-{_code(target)}"
        if pair not in self.pairs():
            raise Unavailable(f"apertium has no {pair} pair installed")
        proc = await asyncio.create_subprocess_exec(
            "apertium",
            "-u",
            "-d",
            str(self._modes_dir.parent),
            pair,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(text.encode())
        if proc.returncode != 0:
            raise Unavailable(f"apertium failed: {err.decode(errors='replace')[:200]}")
        return out.decode().strip()

    async def chat(
        self, messages: list[Message], *, max_tokens: int, temperature: float, on_delta: OnDelta | None = None
    ) -> Completion:
        raise Unsupported("apertium only translates")

    async def describe(self, image: bytes, content_type: str) -> str:
        raise Unsupported("apertium only translates")

    async def draw(self, prompt: str, *, size: str) -> bytes:
        raise Unsupported("apertium only translates")

    async def close(self) -> None:
        return None
