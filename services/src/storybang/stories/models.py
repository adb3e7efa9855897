"""Stories: the request and response models of the API (stored documents are plain dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from storybang import validation

Audience = Literal["children", "young", "general"]

TITLE_MAX = 200
PARAGRAPH_MAX = 5000
# A "long" generated story is a few dozen paragraphs; the bound keeps a story and its translations
# well inside MongoDB's 16 MiB document limit.
PARAGRAPHS_MAX = 200
CHARACTERS_MAX = 20
VALUES_MAX, VALUE_MAX = 10, 40
GENRE_MAX = 50
TRANSLATIONS_MAX = 20

Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX),
    AfterValidator(validation.visible_text),
]
ObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]
# BCP 47 shaped ("en", "pt-BR", "zh-Hant"); also a document field name, so no "." or "$".
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")]
Genre = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=GENRE_MAX),
    AfterValidator(validation.visible_text),
]
Value = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=VALUE_MAX),
    AfterValidator(validation.visible_text),
]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


CharacterIds = Annotated[list[ObjectId], Field(max_length=CHARACTERS_MAX), AfterValidator(_unique)]
Values = Annotated[list[Value], Field(max_length=VALUES_MAX), AfterValidator(_unique)]


class Paragraph(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=PARAGRAPH_MAX),
        AfterValidator(validation.visible_text),
    ]
    image_id: ObjectId | None = None


Paragraphs = Annotated[list[Paragraph], Field(max_length=PARAGRAPHS_MAX)]


class Translation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    paragraphs: Paragraphs


class StoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    audience: Audience
    character_ids: CharacterIds
    paragraphs: Paragraphs = []
    language: Language | None = None
    genre: Genre | None = None
    values: Values = []


class StoryUpdate(BaseModel):
    """Fields to change; a field left out (or null) stays as it is. Each change is a new version."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    audience: Audience | None = None
    character_ids: CharacterIds | None = None
    paragraphs: Paragraphs | None = None
    language: Language | None = None
    genre: Genre | None = None
    values: Values | None = None


class StorySummary(BaseModel):
    """A story in a list: everything but its text."""

    id: str
    title: str
    audience: Audience
    character_ids: list[str]
    language: str | None = None
    genre: str | None = None
    values: list[str] = []
    version: int
    created_at: datetime
    updated_at: datetime


class StoryPublic(StorySummary):
    # Bumped by every write (an edit, a translation, an illustration): the ETag, and what If-Match
    # compares.
    revision: int
    paragraphs: list[Paragraph]
    translations: dict[str, Translation] = {}
    # A short-lived signed URL, usable in an <img>, for every image_id above; fetch the story again
    # for fresh ones.
    image_urls: dict[str, str] = {}


class StoriesPublic(BaseModel):
    items: list[StorySummary]
    next_cursor: str | None = None


class StoryVersionSummary(BaseModel):
    number: int
    created_at: datetime
    title: str


class StoryVersionsPublic(BaseModel):
    items: list[StoryVersionSummary]
    next_cursor: str | None = None


class StoryVersion(StoryVersionSummary):
    """A kept earlier version of a story, as it was."""

    audience: Audience
    character_ids: list[str]
    paragraphs: list[Paragraph]
    language: str | None = None
    genre: str | None = None
    values: list[str] = []
    translations: dict[str, Translation] = {}
    image_urls: dict[str, str] = {}  # as in StoryPublic
