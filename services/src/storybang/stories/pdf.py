"""A story as a PDF: its title, then each paragraph under its illustration, in the language asked for.

Made on the server with fpdf2 (pure Python) so that every client, a phone app as much as the web
app, gets the same file from one request. Text is set in DejaVu, a TrueType font that fpdf2 embeds
(subset) and that covers the Latin, Greek and Cyrillic scripts; the image installs it (Debian's
``fonts-dejavu-core``). Without it the PDF falls back to a built-in font, whose Latin-1 alphabet
shows other characters as "?": a degraded file rather than none.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from storybang.errors import InvalidInput
from storybang.runtime import Runtime
from storybang.stories import service, store

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT_FILES = {"": "DejaVuSerif.ttf", "B": "DejaVuSerif-Bold.ttf"}
# An illustration takes at most this share of the page's height, so its paragraph starts beside it.
IMAGE_MAX_HEIGHT_SHARE = 0.55


@dataclass(frozen=True)
class Page:
    text: str
    image: bytes | None = None


def _font_dir() -> Path | None:
    return next((d for d in FONT_DIRS if all((d / f).is_file() for f in FONT_FILES.values())), None)


def render(title: str, language: str, pages: list[Page]) -> bytes:
    """The PDF's bytes (CPU-bound: run it in a thread)."""
    from fpdf import FPDF  # on the first export only: most processes never make a PDF

    class Book(FPDF):
        def footer(self) -> None:
            self.set_y(-15)
            self.set_font(size=9)
            self.cell(0, 10, str(self.page_no()), align="C")

    pdf = Book(format="A4")
    pdf.set_title(title)
    pdf.set_lang(language)
    pdf.set_creator("StoryBang")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    fonts = _font_dir()
    if fonts is not None:
        for style, name in FONT_FILES.items():
            pdf.add_font("body", style, str(fonts / name))
        family = "body"
    else:
        family = "Times"

    def fit(text: str) -> str:
        return text if fonts is not None else text.encode("latin-1", "replace").decode("latin-1")

    pdf.add_page()
    pdf.set_font(family, "B", 22)
    pdf.multi_cell(0, 11, fit(title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for page in pages:
        if page.image is not None:
            _illustrate(pdf, page.image)
        pdf.set_font(family, "", 12)
        pdf.multi_cell(0, 7, fit(page.text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(5)
    return bytes(pdf.output())


def _illustrate(pdf: FPDF, data: bytes) -> None:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        return  # an image that cannot be read leaves its paragraph without one
    width = pdf.epw
    height = min(width * image.height / image.width, pdf.eph * IMAGE_MAX_HEIGHT_SHARE)
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
    pdf.image(image, x=pdf.l_margin, w=0, h=height, keep_aspect_ratio=True)
    pdf.ln(3)


async def export(runtime: Runtime, owner_id: str, story_id: str, language: str | None) -> tuple[str, bytes]:
    """The story's title and its PDF, in ``language`` (a translation it has) or as written."""
    doc = await store.get(runtime, owner_id, story_id)
    title, paragraphs = doc["title"], [p["text"] for p in doc["paragraphs"]]
    written = doc.get("language") or "en"
    if language and language != written:
        translation = (doc.get("translations") or {}).get(language)
        if translation is None:
            raise InvalidInput(f"The story has no {language!r} translation yet.", field="language")
        title = translation["title"]
        paragraphs = [p["text"] for p in translation["paragraphs"]]
    pages = []
    for i, text in enumerate(paragraphs):
        image_id = doc["paragraphs"][i].get("image_id") if i < len(doc["paragraphs"]) else None
        image = (await service.get_image(runtime, owner_id, story_id, image_id)).data if image_id else None
        pages.append(Page(text, image))
    return title, await asyncio.to_thread(render, title, language or written, pages)
