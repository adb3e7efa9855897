"""Characters: the request and response models of the API (stored documents are plain dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from storybang import validation

NAME_MAX = 100
DESCRIPTION_MAX = 5000
TAGS_MAX, TAG_MAX = 20, 40
# Card texts (personality, greetings, ...) are prompts: long enough for rich cards, bounded so one
# character cannot fill a model's context on its own. The JSON body limit bounds the total anyway.
CARD_TEXT_MAX = 20_000
CARD_SHORT_MAX = 200
GREETINGS_MAX = 50
# One bound on a whole card, whichever way it arrives (a JSON body, a JSON file, a PNG): the JSON
# body limit's default, so that a card that can be created can also be imported, and the reverse.
CARD_MAX_BYTES = 256 * 1024

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    AfterValidator(validation.visible_text),
]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX), AfterValidator(validation.plain_text)]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX),
    AfterValidator(validation.visible_text),
]
CardText = Annotated[str, Field(max_length=CARD_TEXT_MAX), AfterValidator(validation.plain_text)]
CardShort = Annotated[str, Field(max_length=CARD_SHORT_MAX), AfterValidator(validation.plain_text)]
# Application data in a card: any JSON, but not deeper than a parser or serializer can follow.
CardJSON = Annotated[dict[str, Any], AfterValidator(validation.bounded_json)]
# Keys become document field names, and MongoDB refuses "." and a leading "$" in those.
LanguageKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,35}$")]


def _unique(tags: list[str]) -> list[str]:
    # Tags are a set to users; keep the first spelling and the given order.
    seen: set[str] = set()
    unique: list[str] = []
    for tag in tags:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            unique.append(tag)
    return unique


Tags = Annotated[list[Tag], Field(max_length=TAGS_MAX), AfterValidator(_unique)]


class CardExtras(BaseModel):
    """The Character Card V2/V3 fields a character keeps besides name, description and tags.

    Kept so that an imported card exports again unchanged; application data belongs in
    ``extensions``, as both specifications say. Unknown fields are refused, like everywhere in the
    API; the card importer keeps only these fields of the cards it reads.
    """

    model_config = ConfigDict(extra="forbid")

    personality: CardText = ""
    scenario: CardText = ""
    first_mes: CardText = ""
    mes_example: CardText = ""
    creator_notes: CardText = ""
    system_prompt: CardText = ""
    post_history_instructions: CardText = ""
    alternate_greetings: Annotated[list[CardText], Field(max_length=GREETINGS_MAX)] = []
    group_only_greetings: Annotated[list[CardText], Field(max_length=GREETINGS_MAX)] = []
    creator: CardShort = ""
    character_version: CardShort = ""
    nickname: CardShort | None = None
    creator_notes_multilingual: dict[LanguageKey, CardText] | None = None
    source: Annotated[list[CardShort], Field(max_length=GREETINGS_MAX)] | None = None
    character_book: CardJSON | None = None
    extensions: CardJSON = {}

    @model_validator(mode="after")
    def _bounded(self) -> CardExtras:
        size = len(self.model_dump_json(exclude_defaults=True))
        if size > CARD_MAX_BYTES:
            raise ValueError(f"the card is {size} bytes of JSON; at most {CARD_MAX_BYTES} are kept")
        return self


class CharacterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    tags: Tags = []
    card: CardExtras = CardExtras()


class CharacterUpdate(BaseModel):
    """Fields to change; a field left out (or null) stays as it is. ``card`` merges field by field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    tags: Tags | None = None
    card: CardExtras | None = None


class CharacterPublic(BaseModel):
    id: str
    name: str
    description: str
    tags: list[str]
    card: CardExtras
    photo_id: str | None = None
    portrait_id: str | None = None
    # Short-lived signed URLs of the pictures, usable in an <img> (no token needed); fetch the
    # character again for fresh ones.
    photo_url: str | None = None
    portrait_url: str | None = None
    photo_description: str | None = None
    # Bumped by every write; the ETag of a read, to send back as If-Match.
    revision: int
    created_at: datetime
    updated_at: datetime


class CharactersPublic(BaseModel):
    items: list[CharacterPublic]
    next_cursor: str | None = None


CardFormat = Literal["json", "png"]
CardVersion = Literal["2", "3"]
