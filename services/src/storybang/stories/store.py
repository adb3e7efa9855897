"""The ``stories`` and ``story_versions`` collections: the one place that reads and writes them.

Versions: a story document holds its current version (``version``, from 1). Every change of its
content (a PATCH, a generated rewrite, a restore) first keeps the content it replaces as a version
document (``story_versions``), then writes the new content with ``version + 1``. Translations and
illustrations annotate the current text instead of rewriting it, so they change the story in place:
otherwise a worker illustrating twelve paragraphs would bury the author's history under twelve
versions.

Every write is a compare-and-set on ``revision`` (bumped by each write), so concurrent writers
(a person editing while the translate worker saves) never lose each other's changes, and every
write announces itself to the owner's clients with a ``story.updated`` event, whoever made it.

``job_id`` names the generation job that last wrote the content, so that a retried job saves once.

Images: ``image_ids`` lists every image a story has ever pointed at, including replaced ones that a
kept version may still show; deleting the story deletes them all.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from storybang.errors import Conflict, NotFound, PayloadTooLarge
from storybang.runtime import Runtime
from storybang.stores import ids, revisions
from storybang.stores.documents import Doc

STORIES = "stories"
VERSIONS = "story_versions"
CONTENT = ("title", "audience", "character_ids", "paragraphs", "language", "genre", "values", "translations")
_CAS_TRIES = 10
# Half of MongoDB's 16 MiB document limit: a story, its translations and the store's own fields stay
# far inside it, whichever store keeps them (SQLite has no such limit, so nothing else would notice).
STORY_MAX_BYTES = 8 * 1024 * 1024

Change = Callable[[Doc], Doc]


def now() -> str:
    return datetime.now(UTC).isoformat()


async def announce(runtime: Runtime, owner_id: str, story_id: str, **extra: Any) -> None:
    await runtime.events.publish(owner_id, "story.updated", {"id": story_id, **extra})


async def find(runtime: Runtime, owner_id: str, story_id: str) -> Doc | None:
    if not ids.is_valid(story_id):
        return None
    return await runtime.documents.get(STORIES, story_id, owner_id=owner_id)


async def get(runtime: Runtime, owner_id: str, story_id: str) -> Doc:
    doc = await find(runtime, owner_id, story_id)
    if doc is None:
        raise NotFound("No such story.")
    return doc


def check_size(doc: Doc) -> None:
    """413 when ``doc`` would not fit in a document; nothing is written then."""
    size = len(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())
    if size > STORY_MAX_BYTES:
        raise PayloadTooLarge(
            f"The story would take {size} bytes with its translations; a story is kept in at most "
            f"{STORY_MAX_BYTES}. Remove a translation or shorten it."
        )


def with_images(doc: Doc, image_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*doc.get("image_ids", []), *image_ids]))


def check_revision(doc: Doc, if_revision: int | None) -> None:
    """412 when the client wrote on a revision that is no longer current (``If-Match``)."""
    revisions.check(doc, if_revision, "The story changed since you read it.")


async def write(
    runtime: Runtime,
    owner_id: str,
    story_id: str,
    change: Change,
    *,
    new_version: bool,
    if_revision: int | None = None,
) -> Doc:
    """Apply ``change(current) -> changes`` with compare-and-set, keeping the replaced content as a
    version first when ``new_version``, and announce it. Retried on a lost race; 409 when it keeps
    losing; 412 when ``if_revision`` is given and is not the current revision."""
    for attempt in range(_CAS_TRIES):
        doc = await get(runtime, owner_id, story_id)
        check_revision(doc, if_revision)
        stamp = now()
        changes = change(doc) | {"revision": doc["revision"] + 1, "updated_at": stamp}
        check_size(doc | changes)
        kept = None
        if new_version:
            changes |= {"version": doc["version"] + 1, "version_at": stamp}
            # Kept before the write: if we crash in between, a version is kept twice, never lost.
            kept = await runtime.documents.insert(VERSIONS, _snapshot(doc))
        updated = await runtime.documents.update(
            STORIES, story_id, changes, owner_id=owner_id, expect={"revision": doc["revision"]}
        )
        if updated is not None:
            await announce(runtime, owner_id, story_id)
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
