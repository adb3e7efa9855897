"""Image checking, the few PNG operations the domains need, and serving stored images.

Uploads are judged by their content, never by the content type a client declares: Pillow must
recognise the bytes as one of the accepted formats, the header must announce a size within the pixel
limit, and the image must decode. Only then are the bytes stored, with the content type Pillow found.

Decompression bombs (a few kilobytes that announce gigapixels) are refused from the header alone,
before anything is decoded. Pillow's own guard is global and only *warns* below twice its limit, so
the header is read with that warning turned into an error, and our own, per-settings limit is
checked right after.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import warnings
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from starlette.responses import Response

from storybang.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from storybang.settings import LimitSettings
from storybang.stores.blobs import Blob

# Pillow format name -> the content type we store and serve.
ACCEPTED: Mapping[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    width: int
    height: int


def check(data: bytes, limits: LimitSettings, *, field: str = "file") -> CheckedImage:
    """Accept ``data`` as an image, or raise 413 (too many bytes or pixels), 415 (not an accepted
    image format) or 422 (an accepted format whose data is corrupt).

    Decoding is CPU work proportional to the pixel limit: call :func:`check_async` from async code.
    """
    if len(data) > limits.max_upload_bytes:
        raise PayloadTooLarge(f"The image is larger than {limits.max_upload_bytes} bytes.", field=field)
    if not data:
        raise InvalidInput("The file is empty.", field=field)
    try:
        # catch_warnings is not thread-safe before Python 3.14: two threads racing here can leave
        # this "error" filter installed for the whole process, which only makes Pillow stricter.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data), formats=list(ACCEPTED))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise PayloadTooLarge("The image has too many pixels.", field=field) from e
    except UnidentifiedImageError as e:
        raise UnsupportedMediaType("The file is not a PNG, JPEG, WebP or GIF image.", field=field) from e
    except (OSError, SyntaxError, ValueError) as e:
        raise InvalidInput("The image is corrupt.", field=field) from e
    with probe:
        width, height = probe.size
        image_format = probe.format or ""
        if width * height > limits.max_image_pixels:
            raise PayloadTooLarge(
                f"The image has {width}x{height} pixels; at most {limits.max_image_pixels} are allowed.",
                field=field,
            )
        try:
            # verify() checks structure (e.g. PNG chunk CRCs) without decoding; load() then
            # decodes (the first frame) from a fresh file, which catches truncated pixel data.
            probe.verify()
            with Image.open(io.BytesIO(data), formats=[image_format]) as decoded:
                decoded.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise InvalidInput("The image is corrupt.", field=field) from e
    return CheckedImage(data, ACCEPTED[image_format], width, height)


async def check_async(data: bytes, limits: LimitSettings, *, field: str = "file") -> CheckedImage:
    return await asyncio.to_thread(check, data, limits, field=field)


# ------------------------------------------------------------------------------------------ PNG text


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes, int, int]]:
    """(type, data, start, end) of each chunk, up to and including IEND; ValueError when malformed."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(png):
            raise ValueError("truncated PNG chunk")
        yield kind, png[pos + 8 : pos + 8 + length], pos, end
        if kind == b"IEND":
            return
        pos = end
    raise ValueError("PNG without IEND")


def read_text(png: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG as {keyword: text} (Latin-1, as the PNG specification says).

    When a keyword repeats, the first one wins.
    """
    texts: dict[str, str] = {}
    for kind, body, _, _ in _chunks(png):
        if kind == b"tEXt" and b"\x00" in body:
            keyword, _, text = body.partition(b"\x00")
            texts.setdefault(keyword.decode("latin-1"), text.decode("latin-1"))
    return texts


def _text_chunk(keyword: str, text: str) -> bytes:
    body = keyword.encode("latin-1") + b"\x00" + text.encode("latin-1")
    crc = zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", crc)


def with_text(png: bytes, texts: Mapping[str, str], *, remove: frozenset[str] = frozenset()) -> bytes:
    """``png`` without the tEXt chunks named in ``remove`` or ``texts``, plus ``texts`` before IEND.

    The image data is copied byte for byte: nothing is re-encoded.
    """
    drop = {k.lower() for k in remove | set(texts)}
    out = [PNG_SIGNATURE]
    for kind, body, start, end in _chunks(png):
        if kind == b"IEND":
            out.extend(_text_chunk(k, v) for k, v in texts.items())
        elif kind == b"tEXt" and body.partition(b"\x00")[0].decode("latin-1").lower() in drop:
            continue
        out.append(png[start:end])
    return b"".join(out)


def to_png(data: bytes) -> bytes:
    """A PNG of an already checked image (its first frame); a PNG is returned unchanged."""
    if data.startswith(PNG_SIGNATURE):
        return data
    with Image.open(io.BytesIO(data), formats=list(ACCEPTED)) as image:
        converted = image.convert("RGBA")
    out = io.BytesIO()
    converted.save(out, format="PNG")
    return out.getvalue()


def placeholder_png(name: str, size: int = 256) -> bytes:
    """A square of a colour derived from ``name`` with its initial: the picture of a character
    that has neither photo nor portrait yet. The same name always gives the same bytes."""
    digest = hashlib.sha256(name.encode()).digest()
    background = (64 + digest[0] % 128, 64 + digest[1] % 128, 64 + digest[2] % 128)
    image = Image.new("RGB", (size, size), background)
    initial = (name.strip()[:1] or "?").upper()
    font = ImageFont.load_default(size=size // 2)
    ImageDraw.Draw(image).text((size / 2, size / 2), initial, fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ------------------------------------------------------------------------------------------ serving


def response(blob: Blob, if_none_match: str | None = None) -> Response:
    """A stored image as an HTTP response. A blob id names immutable bytes, so it is the ETag; the
    URL of a photo stays the same when the photo is replaced, hence "no-cache" (revalidate)."""
    etag = f'"{blob.id}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        # Opened on its own (a new tab, a crafted SVG-like payload), an image can run nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if if_none_match is not None and (
        if_none_match.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in if_none_match.split(","))
    ):
        return Response(status_code=304, headers=headers)
    return Response(blob.data, media_type=blob.content_type, headers=headers)
