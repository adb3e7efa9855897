"""Character Card V1/V2/V3 <-> a character's fields, and the card inside a PNG.

Specifications: V2 https://github.com/malfoyslastname/character-card-spec-v2 (PNG: base64 JSON in a
``chara`` tEXt chunk), V3 https://github.com/kwaroran/character-card-spec-v3 (PNG: ``ccv3`` tEXt
chunk; ``ccv3`` wins when both are present; a ``chara`` backfill for V2-only applications carries a
warning in ``creator_notes``). V1 is the flat, pre-``spec`` shape, still common in the wild.

Pure functions: nothing here touches a store.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import ValidationError

from storybang import images, validation
from storybang.characters.models import CardExtras, CardVersion, CharacterCreate, CharacterPublic
from storybang.errors import InvalidInput

V2_SPEC, V3_SPEC = "chara_card_v2", "chara_card_v3"
PNG_KEYWORDS = frozenset({"chara", "ccv3"})
V3_BACKFILL_WARNING = (
    "This character card is Character Card V3, but it is loaded as a Character Card V2. "
    "Please use a Character Card V3 compatible application to use this character card properly."
)

_V2_FIELDS = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "character_book",
    "tags",
    "creator",
    "character_version",
    "extensions",
)
_V3_ONLY = ("group_only_greetings", "nickname", "creator_notes_multilingual", "source")


def parse(card: Any) -> CharacterCreate:
    """The character a card describes; 422 naming the card's field when it is not a valid card."""
    if not isinstance(card, dict):
        raise InvalidInput("A character card is a JSON object.", field="card")
    spec = card.get("spec")
    if spec in (V2_SPEC, V3_SPEC):
        data, prefix = card.get("data"), "data."
        if not isinstance(data, dict):
            raise InvalidInput("The card has no `data` object.", field="data")
    elif spec is None and "name" in card:
        data, prefix = card, ""
    else:
        raise InvalidInput(f"Unknown card spec {spec!r}: expected {V2_SPEC!r} or {V3_SPEC!r}.", field="spec")
    # Cards in the wild use null for "not set"; the models use empty values.
    fields = {k: v for k, v in data.items() if v is not None}
    # A card carries fields StoryBang does not keep (V3 `assets`, dates it sets itself): they are
    # dropped here, so that the API's own card model can refuse unknown fields.
    extras = {k: v for k, v in fields.items() if k in CardExtras.model_fields}
    try:
        return CharacterCreate.model_validate(
            {
                "name": fields.get("name"),
                "description": fields.get("description", ""),
                "tags": fields.get("tags", []),
                "card": extras,
            }
        )
    except ValidationError as e:
        error = e.errors()[0]
        loc = [str(p) for p in error["loc"]]
        field = prefix + ".".join(loc[1:] if loc[:1] == ["card"] else loc)
        raise InvalidInput(f"{field}: {error['msg']}", field=field) from e


def render(character: CharacterPublic, version: CardVersion) -> dict[str, Any]:
    """The card of ``character`` in the given spec version."""
    extras = character.card.model_dump(mode="json")
    values: dict[str, Any] = {
        **extras,
        "name": character.name,
        "description": character.description,
        "tags": list(character.tags),
    }
    data = {k: values[k] for k in _V2_FIELDS if values.get(k) is not None}
    if version == "2":
        return {"spec": V2_SPEC, "spec_version": "2.0", "data": data}
    data |= {k: values[k] for k in _V3_ONLY if values.get(k) is not None}
    data["creation_date"] = int(character.created_at.timestamp())
    data["modification_date"] = int(character.updated_at.timestamp())
    return {"spec": V3_SPEC, "spec_version": "3.0", "data": data}


def _encode(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode()).decode("ascii")


def png_texts(character: CharacterPublic, version: CardVersion) -> dict[str, str]:
    """The tEXt chunks that carry the card in a PNG."""
    if version == "2":
        return {"chara": _encode(render(character, "2"))}
    backfill = render(character, "2")
    notes = backfill["data"].get("creator_notes", "")
    backfill["data"]["creator_notes"] = f"{V3_BACKFILL_WARNING}\n\n{notes}".rstrip()
    return {"ccv3": _encode(render(character, "3")), "chara": _encode(backfill)}


def from_png(png: bytes) -> Any:
    """The card JSON inside a PNG (``ccv3`` first, then ``chara``); 422 when there is none."""
    try:
        texts = {k.lower(): v for k, v in images.read_text(png).items()}
    except ValueError as e:
        raise InvalidInput(f"The PNG is malformed: {e}.", field="file") from e
    encoded = texts.get("ccv3") or texts.get("chara")
    if encoded is None:
        raise InvalidInput("The PNG holds no character card (no `ccv3` or `chara` text chunk).", field="file")
    try:
        return validation.loads(base64.b64decode(encoded), field="file")
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput("The character card in the PNG is not base64-encoded JSON.", field="file") from e
