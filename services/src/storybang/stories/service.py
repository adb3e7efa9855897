"""Stories: the plain functions behind the routes and the workers (story, image, translate).

Versions: a story document holds its current version (``version``, from 1). Every change of its
content (a PATCH, a generated rewrite, a restore) first keeps the content it replaces as a version
document (``story_versions``), then writes the new content with ``version + 1``. Translations and
illustrations annotate the current text instead of rewriting it, so they change the story in place:
otherwise a worker illustrating twelve paragraphs would bury the author's history under twelve
versions.

Every write is a compare-and-set on ``revision`` (bumped by each write), so concurrent writers
(a person editing while the translate worker saves) never lose each other's changes.

``job_id`` names the generation job that last wrote the content, so that a retried job saves once.

Images: ``image_ids`` lists every image a story has ever pointed at, including replaced ones that a
kept version may still show; deleting the story deletes them all.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from storybang.characters import service as characters
from storybang.errors import Conflict, InvalidInput, NotFound
from storybang.runtime import Runtime
from storybang.stores import ids
from storybang.stores.blobs import Blob
from storybang.stores.documents import Doc
from storybang.stories.models import (
    TRANSLATIONS_MAX,
    Audience,
    Language,
    Paragraph,
    StoriesPublic,
    StoryCreate,
    StoryPublic,
    StorySummary,
    StoryUpdate,
    StoryVersion,
    StoryVersionsPublic,
    StoryVersionSummary,
    Translation,
)

STORIES = "stories"
VERSIONS = "story_versions"
CONTENT = ("title", "audience", "character_ids", "paragraphs", "language", "genre", "values", "translations")
_CAS_TRIES = 10
_PAGE = 100

Change = Callable[[Doc], Doc]
_LANGUAGE: TypeAdapter[str] = TypeAdapter(Language)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _invalid(e: ValidationError) -> InvalidInput:
    error = e.errors()[0]
    field = ".".join(str(p) for p in error["loc"])
    return InvalidInput(f"{field}: {error['msg']}", field=field)


async def _doc(runtime: Runtime, owner_id: str, story_id: str) -> Doc:
    doc = None
    if ids.is_valid(story_id):
        doc = await runtime.documents.get(STORIES, story_id, owner_id=owner_id)
    if doc is None:
        raise NotFound("No such story.")
    return doc


async def _check_characters(runtime: Runtime, owner_id: str, character_ids: Iterable[str]) -> None:
    absent = await characters.missing(runtime, owner_id, character_ids)
    if absent:
        raise InvalidInput(f"No such character: {', '.join(absent)}.", field="character_ids")


async def _check_images(
    runtime: Runtime, owner_id: str, paragraphs: Sequence[Paragraph], known: Iterable[str] = ()
) -> list[str]:
    """The image ids of ``paragraphs``, each an image of ``owner_id`` (422 naming the paragraph)."""
    seen = set(known)
    found: list[str] = []
    for i, paragraph in enumerate(paragraphs):
        image_id = paragraph.image_id
        if image_id is None:
            continue
        if image_id not in seen and await runtime.blobs.get(image_id, owner_id=owner_id) is None:
            raise InvalidInput("No such image.", field=f"paragraphs.{i}.image_id")
        seen.add(image_id)
        found.append(image_id)
    return found


def _with_images(doc: Doc, image_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*doc.get("image_ids", []), *image_ids]))


async def create(runtime: Runtime, owner_id: str, data: StoryCreate, *, job_id: str | None = None) -> StoryPublic:
    await _check_characters(runtime, owner_id, data.character_ids)
    image_ids = await _check_images(runtime, owner_id, data.paragraphs)
    now = _now()
    doc: Doc = {
        "id": ids.new_id(),
        "owner_id": owner_id,
        **data.model_dump(mode="json"),
        "translations": {},
        "version": 1,
        "version_at": now,
        "revision": 1,
        "image_ids": list(dict.fromkeys(image_ids)),
        "job_id": job_id,
        "created_at": now,
        "updated_at": now,
    }
    await runtime.documents.insert(STORIES, doc)
    return StoryPublic.model_validate(doc)


async def get(runtime: Runtime, owner_id: str, story_id: str) -> StoryPublic:
    return StoryPublic.model_validate(await _doc(runtime, owner_id, story_id))


async def list_stories(
    runtime: Runtime, owner_id: str, *, limit: int = 20, cursor: str | None = None, q: str | None = None
) -> StoriesPublic:
    """Newest first; ``q`` matches titles case-insensitively anywhere in the title."""
    if cursor is not None and not ids.is_valid(cursor):
        raise InvalidInput("The cursor is not one this API returned.", field="cursor")
    page = await runtime.documents.find(
        STORIES, owner_id=owner_id, search=("title", q) if q else None, limit=limit, cursor=cursor
    )
    return StoriesPublic(items=[StorySummary.model_validate(d) for d in page.items], next_cursor=page.next_cursor)


async def _write(runtime: Runtime, owner_id: str, story_id: str, change: Change, *, new_version: bool) -> Doc:
    """Apply ``change(current) -> changes`` with compare-and-set, keeping the replaced content as a
    version first when ``new_version``. Retried on a lost race; 409 when it keeps losing."""
    for attempt in range(_CAS_TRIES):
        doc = await _doc(runtime, owner_id, story_id)
        now = _now()
        changes = change(doc) | {"revision": doc["revision"] + 1, "updated_at": now}
        kept = None
        if new_version:
            changes |= {"version": doc["version"] + 1, "version_at": now}
            # Kept before the write: if we crash in between, a version is kept twice, never lost.
            kept = await runtime.documents.insert(VERSIONS, _snapshot(doc))
        updated = await runtime.documents.update(
            STORIES, story_id, changes, owner_id=owner_id, expect={"revision": doc["revision"]}
        )
        if updated is not None:
            return updated
        if kept is not None:
            await runtime.documents.delete(VERSIONS, kept["id"], owner_id=owner_id)
        # Lost the race: back off a little, at random, so the losers do not collide again at once.
        await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 - jitter, not a secret
    raise Conflict("The story changed while saving; try again.")


def _snapshot(doc: Doc) -> Doc:
    return {
        "id": ids.new_id(),
        "owner_id": doc["owner_id"],
        "story_id": doc["id"],
        "number": doc["version"],
        "created_at": doc["version_at"],
        **{k: doc.get(k) for k in CONTENT},
    }


async def update(runtime: Runtime, owner_id: str, story_id: str, data: StoryUpdate) -> StoryPublic:
    """Change the story's content; the content it replaces is kept as a version."""
    current = await _doc(runtime, owner_id, story_id)
    given = data.model_dump(mode="json", exclude_unset=True)
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return StoryPublic.model_validate(current)
    if data.character_ids is not None:
        await _check_characters(runtime, owner_id, data.character_ids)
    image_ids: list[str] = []
    if data.paragraphs is not None:
        image_ids = await _check_images(runtime, owner_id, data.paragraphs, current.get("image_ids", []))
    doc = await _write(
        runtime,
        owner_id,
        story_id,
        lambda doc: changes | {"image_ids": _with_images(doc, image_ids)},
        new_version=True,
    )
    return StoryPublic.model_validate(doc)


async def delete(runtime: Runtime, owner_id: str, story_id: str) -> None:
    """Delete the story, its kept versions and its images."""
    doc = await _doc(runtime, owner_id, story_id)
    if not await runtime.documents.delete(STORIES, story_id, owner_id=owner_id):
        raise NotFound("No such story.")
    await runtime.documents.delete_many(VERSIONS, owner_id=owner_id, where={"story_id": story_id})
    for image_id in doc.get("image_ids", []):
        await runtime.blobs.delete(image_id, owner_id=owner_id)


async def delete_owner(runtime: Runtime, owner_id: str) -> int:
    """Delete every story of ``owner_id`` with its versions and images (account deletion); idempotent."""
    image_ids: list[str] = []
    cursor = None
    while True:
        page = await runtime.documents.find(STORIES, owner_id=owner_id, limit=_PAGE, cursor=cursor)
        image_ids += [i for doc in page.items for i in doc.get("image_ids", [])]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    deleted = await runtime.documents.delete_many(STORIES, owner_id=owner_id)
    await runtime.documents.delete_many(VERSIONS, owner_id=owner_id)
    for image_id in image_ids:
        await runtime.blobs.delete(image_id, owner_id=owner_id)
    return deleted


async def get_image(runtime: Runtime, owner_id: str, story_id: str, image_id: str) -> Blob:
    """An image of the story (its current or an earlier illustration)."""
    doc = await _doc(runtime, owner_id, story_id)
    blob = None
    if image_id in doc.get("image_ids", []):
        blob = await runtime.blobs.get(image_id, owner_id=owner_id)
    if blob is None:
        raise NotFound("The story has no such image.")
    return blob


# --------------------------------------------------------------------------------------------- versions


async def list_versions(
    runtime: Runtime, owner_id: str, story_id: str, *, limit: int = 20, cursor: str | None = None
) -> StoryVersionsPublic:
    """The kept earlier versions, newest first (the current one is the story itself)."""
    await _doc(runtime, owner_id, story_id)
    if cursor is not None and not ids.is_valid(cursor):
        raise InvalidInput("The cursor is not one this API returned.", field="cursor")
    page = await runtime.documents.find(
        VERSIONS, owner_id=owner_id, where={"story_id": story_id}, limit=limit, cursor=cursor
    )
    return StoryVersionsPublic(
        items=[StoryVersionSummary.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


async def _version(runtime: Runtime, owner_id: str, story_id: str, number: int) -> Doc:
    await _doc(runtime, owner_id, story_id)
    page = await runtime.documents.find(
        VERSIONS, owner_id=owner_id, where={"story_id": story_id, "number": number}, limit=1
    )
    if not page.items:
        raise NotFound(f"The story has no kept version {number}.")
    return page.items[0]


async def get_version(runtime: Runtime, owner_id: str, story_id: str, number: int) -> StoryVersion:
    return StoryVersion.model_validate(await _version(runtime, owner_id, story_id, number))


async def restore_version(runtime: Runtime, owner_id: str, story_id: str, number: int) -> StoryPublic:
    """Make version ``number``'s content current again, as a new version (history is never rewritten)."""
    kept = await _version(runtime, owner_id, story_id, number)
    content = {k: kept.get(k) for k in CONTENT}
    content["translations"] = content["translations"] or {}
    doc = await _write(runtime, owner_id, story_id, lambda _: content, new_version=True)
    return StoryPublic.model_validate(doc)


# ----------------------------------------------------------------------------------------------- workers


async def save_generated(
    runtime: Runtime,
    owner_id: str,
    *,
    title: str,
    paragraphs: Sequence[str],
    audience: Audience,
    character_ids: Sequence[str] = (),
    language: str | None = None,
    genre: str | None = None,
    values: Sequence[str] = (),
    story_id: str | None = None,
    job_id: str | None = None,
) -> StoryPublic:
    """Save the story worker's result: a new story, or (with ``story_id``) a new version of one.

    With ``job_id`` a retried job saves once: the story that job already wrote is returned as it is
    (even if its owner has edited it since).
    """
    fields: dict[str, Any] = {
        "title": title,
        "audience": audience,
        "character_ids": list(character_ids),
        "paragraphs": [{"text": p} for p in paragraphs if p.strip()],
        "language": language,
        "genre": genre,
        "values": list(values),
    }
    try:
        data = StoryCreate.model_validate(fields)
    except ValidationError as e:
        raise _invalid(e) from e
    if story_id is None:
        if job_id is not None:
            done = await runtime.documents.find(STORIES, owner_id=owner_id, where={"job_id": job_id}, limit=1)
            if done.items:
                return StoryPublic.model_validate(done.items[0])
        return await create(runtime, owner_id, data, job_id=job_id)
    current = await _doc(runtime, owner_id, story_id)
    if job_id is not None and current.get("job_id") == job_id:
        return StoryPublic.model_validate(current)
    await _check_characters(runtime, owner_id, data.character_ids)
    changes = data.model_dump(mode="json") | {"job_id": job_id}
    doc = await _write(runtime, owner_id, story_id, lambda _: changes, new_version=True)
    return StoryPublic.model_validate(doc)


async def set_translation(
    runtime: Runtime, owner_id: str, story_id: str, lang: str, title: str, paragraphs: Sequence[str]
) -> StoryPublic:
    """Store (or replace) the story's translation into ``lang``; the story's version stays."""
    try:
        language = _LANGUAGE.validate_python(lang)
    except ValidationError as e:
        raise InvalidInput(f"Not a language code: {lang!r}.", field="language") from e
    try:
        translation = Translation.model_validate({"title": title, "paragraphs": [{"text": p} for p in paragraphs]})
    except ValidationError as e:
        raise _invalid(e) from e

    def change(doc: Doc) -> Doc:
        translations = dict(doc.get("translations") or {})
        if language not in translations and len(translations) >= TRANSLATIONS_MAX:
            raise InvalidInput(f"A story keeps at most {TRANSLATIONS_MAX} translations.", field="language")
        translations[language] = translation.model_dump(mode="json")
        return {"translations": translations}

    return StoryPublic.model_validate(await _write(runtime, owner_id, story_id, change, new_version=False))


async def set_illustration(
    runtime: Runtime, owner_id: str, story_id: str, paragraph_index: int, image_id: str
) -> StoryPublic:
    """Illustrate paragraph ``paragraph_index`` with the stored image ``image_id``; idempotent."""
    if not ids.is_valid(image_id) or await runtime.blobs.get(image_id, owner_id=owner_id) is None:
        raise NotFound("No such image.")

    def change(doc: Doc) -> Doc:
        paragraphs = [dict(p) for p in doc["paragraphs"]]
        if not 0 <= paragraph_index < len(paragraphs):
            raise InvalidInput(f"The story has no paragraph {paragraph_index}.", field="paragraph")
        paragraphs[paragraph_index]["image_id"] = image_id
        return {"paragraphs": paragraphs, "image_ids": _with_images(doc, [image_id])}

    try:
        doc = await _write(runtime, owner_id, story_id, change, new_version=False)
    except NotFound:
        # The story is gone: nothing will ever show this image.
        await runtime.blobs.delete(image_id, owner_id=owner_id)
        raise
    return StoryPublic.model_validate(doc)
