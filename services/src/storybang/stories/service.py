"""Stories: the plain functions behind the routes, and the reads the workers need.

How a story is stored, versioned and announced is :mod:`storybang.stories.store`; its kept
versions are :mod:`storybang.stories.versions`; what the workers write into it (a generated story,
a translation, an illustration) is :mod:`storybang.stories.results`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storybang.characters import service as characters
from storybang.errors import InvalidInput, NotFound
from storybang.runtime import Runtime
from storybang.stores import ids
from storybang.stores.blobs import Blob
from storybang.stores.documents import Doc
from storybang.stories import store
from storybang.stories.models import Paragraph, StoriesPublic, StoryCreate, StoryPublic, StorySummary, StoryUpdate

_PAGE = 100


async def check_characters(runtime: Runtime, owner_id: str, character_ids: Iterable[str]) -> None:
    absent = await characters.missing(runtime, owner_id, character_ids)
    if absent:
        raise InvalidInput(f"No such character: {', '.join(absent)}.", field="character_ids")


async def _own_images(
    runtime: Runtime, owner_id: str, paragraphs: Sequence[Paragraph], known: Iterable[str] = ()
) -> tuple[list[Paragraph], list[str]]:
    """``paragraphs`` with every image the story's own, and the ids of the copies made for that.

    An image belongs to one object, which deletes it with itself: an image of another object of the
    same user (a character's photo, another story's illustration) is copied, so that deleting this
    story or replacing that photo never breaks the other. 422 naming the paragraph for an image
    that is not the user's.
    """
    own = set(known)
    copies: dict[str, str] = {}
    result: list[Paragraph] = []
    for i, paragraph in enumerate(paragraphs):
        image_id = paragraph.image_id
        if image_id is not None and image_id not in own:
            if image_id not in copies:
                blob = await runtime.blobs.get(image_id, owner_id=owner_id)
                if blob is None:
                    await _forget(runtime, owner_id, copies.values())
                    raise InvalidInput("No such image.", field=f"paragraphs.{i}.image_id")
                copies[image_id] = await runtime.blobs.put(blob.data, owner_id=owner_id, content_type=blob.content_type)
            paragraph = paragraph.model_copy(update={"image_id": copies[image_id]})
        result.append(paragraph)
    return result, list(copies.values())


async def _forget(runtime: Runtime, owner_id: str, image_ids: Iterable[str]) -> None:
    # Copies made for a write that did not happen: nothing refers to them.
    for image_id in image_ids:
        await runtime.blobs.delete(image_id, owner_id=owner_id)


def _dump(paragraphs: Sequence[Paragraph]) -> list[dict[str, object]]:
    return [p.model_dump(mode="json") for p in paragraphs]


async def create(runtime: Runtime, owner_id: str, data: StoryCreate, *, job_id: str | None = None) -> StoryPublic:
    await check_characters(runtime, owner_id, data.character_ids)
    paragraphs, image_ids = await _own_images(runtime, owner_id, data.paragraphs)
    now = store.now()
    doc: Doc = {
        "id": ids.new_id(),
        "owner_id": owner_id,
        **data.model_dump(mode="json"),
        "paragraphs": _dump(paragraphs),
        "translations": {},
        "version": 1,
        "version_at": now,
        "revision": 1,
        "image_ids": list(dict.fromkeys(image_ids)),
        "job_id": job_id,
        "created_at": now,
        "updated_at": now,
    }
    store.check_size(doc)
    try:
        await runtime.documents.insert(store.STORIES, doc)
    except BaseException:
        await _forget(runtime, owner_id, image_ids)
        raise
    await store.announce(runtime, owner_id, doc["id"])
    return StoryPublic.model_validate(doc)


async def get(runtime: Runtime, owner_id: str, story_id: str) -> StoryPublic:
    return StoryPublic.model_validate(await store.get(runtime, owner_id, story_id))


@dataclass(frozen=True)
class StoryText:
    """A story's words as the workers read them: to translate it, illustrate or rewrite a paragraph."""

    title: str
    language: str | None
    paragraphs: list[str]
    audience: str = "general"


async def text(runtime: Runtime, owner_id: str, story_id: str) -> StoryText | None:
    """The story's title and paragraphs; None when it is not theirs (or no longer exists)."""
    doc = await store.find(runtime, owner_id, story_id)
    if doc is None:
        return None
    paragraphs = [p["text"] for p in doc.get("paragraphs", [])]
    return StoryText(doc["title"], doc.get("language"), paragraphs, doc.get("audience") or "general")


async def list_stories(
    runtime: Runtime, owner_id: str, *, limit: int = 20, cursor: str | None = None, q: str | None = None
) -> StoriesPublic:
    """Newest first; ``q`` matches titles case-insensitively anywhere in the title."""
    if cursor is not None and not ids.is_valid(cursor):
        raise InvalidInput("The cursor is not one this API returned.", field="cursor")
    page = await runtime.documents.find(
        store.STORIES, owner_id=owner_id, search=("title", q) if q else None, limit=limit, cursor=cursor
    )
    return StoriesPublic(items=[StorySummary.model_validate(d) for d in page.items], next_cursor=page.next_cursor)


async def update(
    runtime: Runtime, owner_id: str, story_id: str, data: StoryUpdate, *, if_revision: int | None = None
) -> StoryPublic:
    """Change the story's content; the content it replaces is kept as a version. ``if_revision``:
    only if the story is still at that revision (412 otherwise)."""
    current = await store.get(runtime, owner_id, story_id)
    store.check_revision(current, if_revision)
    given = data.model_dump(mode="json", exclude_unset=True)
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return StoryPublic.model_validate(current)
    if data.character_ids is not None:
        await check_characters(runtime, owner_id, data.character_ids)
    image_ids: list[str] = []
    if data.paragraphs is not None:
        paragraphs, image_ids = await _own_images(runtime, owner_id, data.paragraphs, current.get("image_ids", []))
        changes["paragraphs"] = _dump(paragraphs)
    try:
        doc = await store.write(
            runtime,
            owner_id,
            story_id,
            lambda doc: changes | {"image_ids": store.with_images(doc, image_ids)},
            new_version=True,
            if_revision=if_revision,
        )
    except BaseException:
        await _forget(runtime, owner_id, image_ids)
        raise
    return StoryPublic.model_validate(doc)


async def delete(runtime: Runtime, owner_id: str, story_id: str, *, if_revision: int | None = None) -> None:
    """Delete the story, its kept versions and its images; with ``if_revision``, only if it is still
    at that revision (a write landing between this check and the delete is deleted with it)."""
    doc = await store.get(runtime, owner_id, story_id)
    store.check_revision(doc, if_revision)
    if not await runtime.documents.delete(store.STORIES, story_id, owner_id=owner_id):
        raise NotFound("No such story.")
    await runtime.documents.delete_many(store.VERSIONS, owner_id=owner_id, where={"story_id": story_id})
    for image_id in doc.get("image_ids", []):
        await runtime.blobs.delete(image_id, owner_id=owner_id)
    await store.announce(runtime, owner_id, story_id, deleted=True)


async def delete_owner(runtime: Runtime, owner_id: str) -> int:
    """Delete every story of ``owner_id`` with its versions and images (account deletion); idempotent."""
    image_ids: list[str] = []
    cursor = None
    while True:
        page = await runtime.documents.find(store.STORIES, owner_id=owner_id, limit=_PAGE, cursor=cursor)
        image_ids += [i for doc in page.items for i in doc.get("image_ids", [])]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    deleted = await runtime.documents.delete_many(store.STORIES, owner_id=owner_id)
    await runtime.documents.delete_many(store.VERSIONS, owner_id=owner_id)
    for image_id in image_ids:
        await runtime.blobs.delete(image_id, owner_id=owner_id)
    return deleted


async def get_image(runtime: Runtime, owner_id: str, story_id: str, image_id: str) -> Blob:
    """An image of the story (its current or an earlier illustration)."""
    doc = await store.get(runtime, owner_id, story_id)
    blob = None
    if image_id in doc.get("image_ids", []):
        blob = await runtime.blobs.get(image_id, owner_id=owner_id)
    if blob is None:
        raise NotFound("The story has no such image.")
    return blob
