"""Image checking by content, byte and pixel limits, decompression bombs, PNG text chunks."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from storybang import images
from storybang.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from storybang.settings import LimitSettings
from tests.characters.pictures import bomb_png, image, pixels, png

LIMITS = LimitSettings()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_accepted_formats_are_recognised_by_content(fmt: str, content_type: str) -> None:
    data = image(fmt, (12, 7))
    checked = images.check(data, LIMITS)
    assert (checked.data, checked.content_type, checked.width, checked.height) == (data, content_type, 12, 7)


@pytest.mark.parametrize(
    "data",
    [b"hello, I am a text file pretending to be a PNG", b"<svg xmlns='http://www.w3.org/2000/svg'/>", image("BMP")],
    ids=["text", "svg", "bmp"],
)
def test_anything_else_is_an_unsupported_media_type(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType) as e:
        images.check(data, LIMITS)
    assert e.value.field == "file"


def test_a_truncated_image_is_invalid() -> None:
    data = image("JPEG", (64, 64))
    with pytest.raises(InvalidInput):
        images.check(data[: len(data) // 2], LIMITS)


def test_an_empty_file_is_invalid() -> None:
    with pytest.raises(InvalidInput):
        images.check(b"", LIMITS)


def test_too_many_bytes_is_payload_too_large() -> None:
    limits = LimitSettings(max_upload_bytes=2048)
    noisy = Image.frombytes("L", (64, 64), bytes(range(256)) * 16)
    out = io.BytesIO()
    noisy.save(out, format="PNG", compress_level=0)
    with pytest.raises(PayloadTooLarge):
        images.check(out.getvalue(), limits)


def test_too_many_pixels_is_payload_too_large() -> None:
    limits = LimitSettings(max_image_pixels=10_000)
    images.check(png((100, 100)), limits)
    with pytest.raises(PayloadTooLarge) as e:
        images.check(png((101, 100)), limits)
    assert "101x100" in e.value.detail


@pytest.mark.parametrize(
    ("width", "height"),
    [(8_000, 8_000), (12_000, 12_000), (60_000, 60_000)],
    ids=["over-our-limit", "over-pillow-warning", "over-pillow-error"],
)
def test_a_decompression_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    bomb = bomb_png(width, height)
    assert len(bomb) < 200
    started = time.monotonic()
    with pytest.raises(PayloadTooLarge):
        images.check(bomb, LIMITS)
    assert time.monotonic() - started < 1


def test_text_chunks_are_written_read_and_replaced_without_touching_pixels() -> None:
    original = png((5, 5), "orange")
    tagged = images.with_text(original, {"chara": "djI=", "Comment": "hi"})
    assert images.read_text(tagged) == {"chara": "djI=", "Comment": "hi"}
    assert pixels(tagged) == pixels(original)
    replaced = images.with_text(tagged, {"ccv3": "djM="}, remove=frozenset({"CHARA"}))
    assert images.read_text(replaced) == {"Comment": "hi", "ccv3": "djM="}
    assert images.read_text(images.with_text(replaced, {}, remove=frozenset({"ccv3", "comment"}))) == {}


def test_malformed_pngs_are_reported() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        images.read_text(b"GIF89a")
    with pytest.raises(ValueError, match=r"truncated|without IEND"):
        images.read_text(png()[:40])


def test_other_formats_convert_to_png_and_placeholders_are_stable() -> None:
    jpeg = image("JPEG", (9, 4))
    converted = images.to_png(jpeg)
    assert images.check(converted, LIMITS).content_type == "image/png"
    assert pixels(converted)[0] == (9, 4)
    assert images.to_png(converted) == converted
    assert images.placeholder_png("Nemo") == images.placeholder_png("Nemo")
    assert images.check(images.placeholder_png("Ümit"), LIMITS).width == 256
