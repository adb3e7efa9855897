"""Small images made on the spot for the tests (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def image(fmt: str = "PNG", size: tuple[int, int] = (8, 6), color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def png(size: tuple[int, int] = (8, 6), color: str = "teal") -> bytes:
    return image("PNG", size, color)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header announcing ``width`` x ``height`` pixels, followed by junk pixel data.

    Refusing it with 413 (not 422 "corrupt") shows the refusal came from the header, before
    anything was decoded.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    """Size and decoded RGBA pixels, to compare images whatever their encoding."""
    with Image.open(io.BytesIO(data)) as im:
        return im.size, im.convert("RGBA").tobytes()
