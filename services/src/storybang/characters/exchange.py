"""Character Cards in and out: a new character from a card (JSON or PNG), a character as a card.

The card formats themselves (V1/V2/V3, PNG text chunks) are :mod:`storybang.characters.cards`;
this module stores and reads through :mod:`storybang.characters.service`.
"""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from storybang import images
from storybang.characters import cards, service
from storybang.characters.models import CardFormat, CardVersion, CharacterPublic
from storybang.errors import UnsupportedMediaType
from storybang.runtime import Runtime


async def import_card(
    runtime: Runtime, owner_id: str, *, card: Any = None, png: bytes | None = None
) -> CharacterPublic:
    """A new character from a Character Card (V1, V2 or V3): a JSON object or a PNG carrying one.

    A PNG becomes the character's photo, without the card's text chunks (the card's fields live on
    the character from now on; an export writes them back fresh).
    """
    if png is None:
        return await service.create(runtime, owner_id, cards.parse(card))
    image = await images.check_async(png, runtime.settings.limits)
    if image.content_type != "image/png":
        raise UnsupportedMediaType("A character card image must be a PNG.", field="file")
    data = cards.parse(cards.from_png(image.data))
    photo = images.with_text(image.data, {}, remove=cards.PNG_KEYWORDS)
    photo_id = await runtime.blobs.put(photo, owner_id=owner_id, content_type="image/png")
    try:
        return await service.create(runtime, owner_id, data, photo_id=photo_id)
    except BaseException:
        await runtime.blobs.delete(photo_id, owner_id=owner_id)
        raise


@dataclass(frozen=True)
class ExportedCard:
    data: bytes
    media_type: str
    filename: str


def _filename(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower() or "character"


async def export_card(
    runtime: Runtime, owner_id: str, character_id: str, *, fmt: CardFormat = "json", version: CardVersion = "3"
) -> ExportedCard:
    """The character as a Character Card: JSON, or a PNG (the photo, else the portrait, else a
    generated placeholder) with the card in its tEXt chunks."""
    character = await service.get(runtime, owner_id, character_id)
    stem = _filename(character.name)
    if fmt == "json":
        body = json.dumps(cards.render(character, version), ensure_ascii=False).encode()
        return ExportedCard(body, "application/json", f"{stem}.json")
    base = None
    for blob_id in (character.photo_id, character.portrait_id):
        blob = await runtime.blobs.get(blob_id, owner_id=owner_id) if blob_id else None
        if blob is not None:
            base = await asyncio.to_thread(images.to_png, blob.data)
            break
    if base is None:
        base = await asyncio.to_thread(images.placeholder_png, character.name)
    png = images.with_text(base, cards.png_texts(character, version), remove=cards.PNG_KEYWORDS)
    return ExportedCard(png, "image/png", f"{stem}.png")
