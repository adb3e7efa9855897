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


async def create(runtime: Runtime, owner_id: str, data: StoryCreate, *, job_id: str | None = None) -> StoryPublic:
    await check_characters(runtime, owner_id, data.character_ids)
    image_ids = await _check_images(runtime, owner_id, data.paragraphs)
    now = store.now()
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
    await runtime.documents.insert(store.STORIES, doc)
    await store.announce(runtime, owner_id, doc["id"])
    return StoryPublic.model_validate(doc)


async def get(runtime: Runtime, owner_id: str, story_id: str) -> StoryPublic:
    return StoryPublic.model_validate(await store.get(runtime, owner_id, story_id))


@dataclass(frozen=True)
class StoryText:
    """A story's words as the workers read them: to translate it, or to illustrate a paragraph."""

    title: str
    language: str | None
    paragraphs: list[str]


async def text(runtime: Runtime, owner_id: str, story_id: str) -> StoryText | None:
    """The story's title and paragraphs; None when it is not theirs (or no longer exists)."""
    doc = await store.find(runtime, owner_id, story_id)
    if doc is None:
        return None
    return StoryText(doc["title"], doc.get("language"), [p["text"] for p in doc.get("paragraphs", [])])


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


async def update(runtime: Runtime, owner_id: str, story_id: str, data: StoryUpdate) -> StoryPublic:
    """Change the story's content; the content it replaces is kept as a version."""
    current = await store.get(runtime, owner_id, story_id)
    given = data.model_dump(mode="json", exclude_unset=True)
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return StoryPublic.model_validate(current)
    if data.character_ids is not None:
        await check_characters(runtime, owner_id, data.character_ids)
    image_ids: list[str] = []
    if data.paragraphs is not None:
        image_ids = await _check_images(runtime, owner_id, data.paragraphs, current.get("image_ids", []))
    doc = await store.write(
        runtime,
        owner_id,
        story_id,
        lambda doc: changes | {"image_ids": store.with_images(doc, image_ids)},
        new_version=True,
    )
    return StoryPublic.model_validate(doc)


async def delete(runtime: Runtime, owner_id: str, story_id: str) -> None:
    """Delete the story, its kept versions and its images."""
    doc = await store.get(runtime, owner_id, story_id)
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
