"""Characters: the request and response models of the API (stored documents are plain dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

NAME_MAX = 100
DESCRIPTION_MAX = 5000
TAGS_MAX, TAG_MAX = 20, 40
# Card texts (personality, greetings, ...) are prompts: long enough for rich cards, bounded so one
# character cannot fill a model's context on its own. The JSON body limit bounds the total anyway.
CARD_TEXT_MAX = 20_000
CARD_SHORT_MAX = 200
GREETINGS_MAX = 50

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX)]
CardText = Annotated[str, Field(max_length=CARD_TEXT_MAX)]
CardShort = Annotated[str, Field(max_length=CARD_SHORT_MAX)]
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
    ``extensions``, as both specifications say.
    """

    model_config = ConfigDict(extra="ignore")

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
    character_book: dict[str, Any] | None = None
    extensions: dict[str, Any] = {}


class CharacterCreate(BaseModel):
    name: Name
    description: Description = ""
    tags: Tags = []
    card: CardExtras = CardExtras()


class CharacterUpdate(BaseModel):
    """Fields to change; a field left out (or null) stays as it is. ``card`` merges field by field."""

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
    photo_description: str | None = None
    created_at: datetime
    updated_at: datetime


class CharactersPublic(BaseModel):
    items: list[CharacterPublic]
    next_cursor: str | None = None


CardFormat = Literal["json", "png"]
CardVersion = Literal["2", "3"]
