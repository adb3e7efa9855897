"""Signed URLs for a story's illustrations, added to what the API answers (an ``<img>`` sends no
token; :mod:`storybang.security.urls`). Stored stories never hold URLs: they expire."""

from __future__ import annotations

from typing import TypeVar

from storybang.security.urls import UrlSigner
from storybang.stories.models import Paragraph, StoryPublic, StoryVersion

# Where the stories domain serves images at signed URLs (the ingress routes this prefix to it).
PREFIX = "/api/v1/stories"

S = TypeVar("S", StoryPublic, StoryVersion)


def image_ids(story: StoryPublic | StoryVersion) -> list[str]:
    """Every image a story shows: its paragraphs' and its translations' (a translation keeps the
    illustrations of the paragraphs it translates)."""
    paragraphs: list[Paragraph] = [*story.paragraphs]
    for translation in story.translations.values():
        paragraphs.extend(translation.paragraphs)
    return sorted({p.image_id for p in paragraphs if p.image_id})


def signed(signer: UrlSigner, owner_id: str, story: S) -> S:
    """``story`` with ``image_urls``: a signed URL for each of its images."""
    return story.model_copy(update={"image_urls": {i: signer.image(PREFIX, owner_id, i) for i in image_ids(story)}})
