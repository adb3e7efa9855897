"""A story's kept versions: list them, read one, and make one current again."""

from __future__ import annotations

from storybang.errors import InvalidInput, NotFound
from storybang.runtime import Runtime
from storybang.stores import ids
from storybang.stores.documents import Doc
from storybang.stories import store
from storybang.stories.models import StoryPublic, StoryVersion, StoryVersionsPublic, StoryVersionSummary


async def list_versions(
    runtime: Runtime, owner_id: str, story_id: str, *, limit: int = 20, cursor: str | None = None
) -> StoryVersionsPublic:
    """The kept earlier versions, newest first (the current one is the story itself)."""
    await store.get(runtime, owner_id, story_id)
    if cursor is not None and not ids.is_valid(cursor):
        raise InvalidInput("The cursor is not one this API returned.", field="cursor")
    page = await runtime.documents.find(
        store.VERSIONS, owner_id=owner_id, where={"story_id": story_id}, limit=limit, cursor=cursor
    )
    return StoryVersionsPublic(
        items=[StoryVersionSummary.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


async def _version(runtime: Runtime, owner_id: str, story_id: str, number: int) -> Doc:
    await store.get(runtime, owner_id, story_id)
    page = await runtime.documents.find(
        store.VERSIONS, owner_id=owner_id, where={"story_id": story_id, "number": number}, limit=1
    )
    if not page.items:
        raise NotFound(f"The story has no kept version {number}.")
    return page.items[0]


async def get_version(runtime: Runtime, owner_id: str, story_id: str, number: int) -> StoryVersion:
    return StoryVersion.model_validate(await _version(runtime, owner_id, story_id, number))


async def restore_version(runtime: Runtime, owner_id: str, story_id: str, number: int) -> StoryPublic:
    """Make version ``number``'s content current again, as a new version (history is never rewritten)."""
    kept = await _version(runtime, owner_id, story_id, number)
    content = {k: kept.get(k) for k in store.CONTENT}
    content["translations"] = content["translations"] or {}
    doc = await store.write(runtime, owner_id, story_id, lambda _: content, new_version=True)
    return StoryPublic.model_validate(doc)
