"""Characters: the plain functions behind the routes and the workers (describe, image generation).

Every function takes the owner's id and treats another owner's character exactly like a missing
one (:class:`NotFound`), so the API answers 404 and never 403. Images live in the blob store; a
character holds their ids (``photo_id``, ``portrait_id``) and deleting it deletes them.

This module is the only reader and writer of the ``characters`` collection, save account deletion,
which empties every user collection through the document store: other domains ask it
(:func:`likeness`, :func:`set_portrait`, ...). Every write announces itself to the owner's clients
with a ``character.updated`` event, whoever made it (an API call or a worker), after it has marked
the owner's kept pages of characters out of date (:mod:`storybang.stores.pages`). Every write bumps
the character's ``revision`` with a compare-and-set on it (:mod:`storybang.stores.revisions`), so a
client that wrote on an older revision (``If-Match``) is refused instead of overwriting a change.

Documents keep the card's free-form parts (``extensions``, ``character_book``) as JSON text: cards
in the wild put keys with dots or a leading ``$`` there, which MongoDB refuses as field names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storybang import images
from storybang.characters import pictures
from storybang.characters.models import (
    DESCRIPTION_MAX,
    CharacterCreate,
    CharacterPublic,
    CharactersPublic,
    CharacterUpdate,
)
from storybang.errors import Conflict, InvalidInput, NotFound
from storybang.runtime import Runtime
from storybang.security.urls import UrlSigner
from storybang.stores import ids, revisions
from storybang.stores.blobs import Blob
from storybang.stores.documents import Doc, View

COLLECTION = "characters"
_FREE_FORM = ("extensions", "character_book")
# Compare-and-set retries when writers race (a person editing while a worker saves a portrait).
_CAS_TRIES = 10
_PAGE = 100


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _stored_card(card: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if k in _FREE_FORM and v is not None else v for k, v in card.items()}


async def _stored(runtime: Runtime, owner_id: str) -> None:
    """After each write to the store: the owner's kept pages of characters are out of date."""
    await runtime.pages.changed(COLLECTION, owner_id)


async def _announce(runtime: Runtime, owner_id: str, character_id: str, **extra: Any) -> None:
    await runtime.events.publish(owner_id, "character.updated", {"id": character_id, **extra})


def _public(doc: Doc) -> CharacterPublic:
    card = {k: json.loads(v) if k in _FREE_FORM and isinstance(v, str) else v for k, v in doc["card"].items()}
    return CharacterPublic.model_validate({**doc, "card": card, "revision": revisions.of(doc)})


async def _doc(runtime: Runtime, owner_id: str, character_id: str) -> Doc:
    doc = None
    if ids.is_valid(character_id):
        doc = await runtime.documents.get(COLLECTION, character_id, owner_id=owner_id)
    if doc is None:
        raise NotFound("No such character.")
    return doc


async def create(
    runtime: Runtime, owner_id: str, data: CharacterCreate, *, photo_id: str | None = None
) -> CharacterPublic:
    now = _now()
    fields = data.model_dump(mode="json")
    doc: Doc = {
        "id": ids.new_id(),
        "owner_id": owner_id,
        **fields,
        "card": _stored_card(fields["card"]),
        "photo_id": photo_id,
        "portrait_id": None,
        "photo_description": None,
        "revision": 1,
        "created_at": now,
        "updated_at": now,
    }
    await runtime.documents.insert(COLLECTION, doc)
    await _stored(runtime, owner_id)
    await _announce(runtime, owner_id, doc["id"])
    return _public(doc)


async def get(runtime: Runtime, owner_id: str, character_id: str) -> CharacterPublic:
    return _public(await _doc(runtime, owner_id, character_id))


async def list_characters(
    runtime: Runtime, owner_id: str, *, limit: int = 20, cursor: str | None = None, q: str | None = None
) -> CharactersPublic:
    """Newest first; ``q`` matches names case-insensitively anywhere in the name."""
    if cursor is not None and not ids.is_valid(cursor):
        raise InvalidInput("The cursor is not one this API returned.", field="cursor")
    page = await runtime.documents.find(
        COLLECTION, owner_id=owner_id, search=("name", q) if q else None, limit=limit, cursor=cursor
    )
    return CharactersPublic(items=[_public(d) for d in page.items], next_cursor=page.next_cursor)


async def list_json(
    runtime: Runtime, owner_id: str, *, limit: int = 20, cursor: str | None = None, q: str | None = None
) -> bytes:
    """:func:`list_characters` as the JSON of :class:`CharactersPublic`, made of each character's
    JSON kept from an earlier read of the same stored document (:class:`View`). Every screen of the
    app reads a page of characters; decoding, validating and serializing twenty cards again on each
    read cost more than all the rest of the request. Pages other than searches are kept whole by
    the process until the owner's next write (:mod:`storybang.stores.pages`)."""
    if cursor is not None and not ids.is_valid(cursor):
        raise InvalidInput("The cursor is not one this API returned.", field="cursor")
    signer = runtime.keys.image_urls

    async def make() -> bytes:
        page = await runtime.documents.find_view(
            COLLECTION,
            _public_json(signer),
            owner_id=owner_id,
            search=("name", q) if q else None,
            limit=limit,
            cursor=cursor,
        )
        items = b",".join(page.items)
        return b'{"items":[' + items + b'],"next_cursor":' + json.dumps(page.next_cursor).encode() + b"}"

    if q:  # a search, typed once: not kept, so that searches cannot push the pages out
        return await make()
    # The page carries signed picture URLs: one kept page per step of their expiries, as in _public_json.
    return await runtime.pages.read(COLLECTION, owner_id, (limit, cursor, signer, signer.expiry()), make)


# Each character's JSON carries signed picture URLs, which expire: it is kept per step of
# expiries (storybang.security.urls), and a new step starts afresh, so no kept JSON hands out an
# expired URL.
_views: dict[tuple[UrlSigner, int], View[bytes]] = {}


def _public_json(signer: UrlSigner) -> View[bytes]:
    key = (signer, signer.expiry())
    view = _views.get(key)
    if view is None:
        _views.clear()
        view = _views[key] = View(
            lambda doc: pictures.signed(signer, doc["owner_id"], _public(doc)).model_dump_json().encode()
        )
    return view


@dataclass(frozen=True)
class Likeness:
    """A character as a generator needs it: who they are, how they look, and the photo to describe."""

    name: str
    looks: str
    photo_id: str | None


async def likeness(runtime: Runtime, owner_id: str, character_id: str) -> Likeness | None:
    """The character as a prompt's cast member or a portrait's subject; None when it is not theirs."""
    if not ids.is_valid(character_id):
        return None
    doc = await runtime.documents.get(COLLECTION, character_id, owner_id=owner_id)
    if doc is None:
        return None
    return Likeness(doc["name"], doc.get("description") or doc.get("photo_description") or "", doc.get("photo_id"))


async def missing(runtime: Runtime, owner_id: str, character_ids: Iterable[str]) -> list[str]:
    """The ids among ``character_ids`` that are not characters of ``owner_id``."""
    absent = []
    for character_id in dict.fromkeys(character_ids):
        if not ids.is_valid(character_id) or (
            await runtime.documents.get(COLLECTION, character_id, owner_id=owner_id) is None
        ):
            absent.append(character_id)
    return absent


Change = Callable[[Doc], Doc | None]


async def _write(
    runtime: Runtime, owner_id: str, character_id: str, change: Change, *, if_revision: int | None = None
) -> Doc:
    """Apply ``change(current) -> changes`` (``None``: nothing to change) with compare-and-set on the
    revision, retried on a lost race; 409 when it keeps losing, 412 when ``if_revision`` is given
    and is not the current revision. The caller announces the write."""
    for _ in range(_CAS_TRIES):
        doc = await _doc(runtime, owner_id, character_id)
        revisions.check(doc, if_revision, "The character changed since you read it.")
        changes = change(doc)
        if changes is None:
            return doc
        changes |= {"revision": revisions.of(doc) + 1, "updated_at": _now()}
        expect = {"revision": doc.get("revision")}
        updated = await runtime.documents.update(COLLECTION, character_id, changes, owner_id=owner_id, expect=expect)
        if updated is not None:
            await _stored(runtime, owner_id)
            return updated
    raise Conflict("The character changed while saving; try again.")


async def update(
    runtime: Runtime, owner_id: str, character_id: str, data: CharacterUpdate, *, if_revision: int | None = None
) -> CharacterPublic:
    """Change the given fields; with ``if_revision``, only if the character is still at it (412)."""
    given = data.model_dump(mode="json", exclude_unset=True)
    changes: Doc = {k: given[k] for k in ("name", "description", "tags") if given.get(k) is not None}
    if given.get("card") is not None:
        # Field by field ("card.personality"), so a PATCH of one card field keeps the others.
        changes |= {f"card.{k}": v for k, v in _stored_card(given["card"]).items()}
    if not changes:
        doc = await _doc(runtime, owner_id, character_id)
        revisions.check(doc, if_revision, "The character changed since you read it.")
        return _public(doc)
    doc = await _write(runtime, owner_id, character_id, lambda _: dict(changes), if_revision=if_revision)
    await _announce(runtime, owner_id, character_id)
    return _public(doc)


async def delete(runtime: Runtime, owner_id: str, character_id: str, *, if_revision: int | None = None) -> None:
    """Delete the character and its photo and portrait; with ``if_revision``, only if it is still
    at that revision (a write landing between this check and the delete is deleted with it)."""
    doc = await _doc(runtime, owner_id, character_id)
    revisions.check(doc, if_revision, "The character changed since you read it.")
    if not await runtime.documents.delete(COLLECTION, character_id, owner_id=owner_id):
        raise NotFound("No such character.")
    await _stored(runtime, owner_id)
    await _delete_blobs(runtime, owner_id, [doc.get("photo_id"), doc.get("portrait_id")])
    await _announce(runtime, owner_id, character_id, deleted=True)


async def delete_owner(runtime: Runtime, owner_id: str) -> int:
    """Delete every character of ``owner_id`` and their images (account deletion); idempotent."""
    blob_ids: list[str | None] = []
    cursor = None
    while True:
        page = await runtime.documents.find(COLLECTION, owner_id=owner_id, limit=_PAGE, cursor=cursor)
        blob_ids += [b for doc in page.items for b in (doc.get("photo_id"), doc.get("portrait_id"))]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    deleted = await runtime.documents.delete_many(COLLECTION, owner_id=owner_id)
    await _stored(runtime, owner_id)
    await _delete_blobs(runtime, owner_id, blob_ids)
    return deleted


async def _delete_blobs(runtime: Runtime, owner_id: str, blob_ids: Iterable[str | None]) -> None:
    for blob_id in blob_ids:
        if blob_id:
            await runtime.blobs.delete(blob_id, owner_id=owner_id)


# ----------------------------------------------------------------------------------------------- images


async def _attach(
    runtime: Runtime,
    owner_id: str,
    character_id: str,
    field: str,
    blob_id: str,
    extra: Doc | None = None,
    *,
    if_revision: int | None = None,
) -> CharacterPublic:
    """Point ``field`` at ``blob_id`` and delete the image it pointed at before.

    Compare-and-set, so two concurrent uploads never both delete the other's image. When the
    character is gone, has moved past ``if_revision``, or the race is lost too often, the new image
    is deleted.
    """
    replaced: list[str | None] = []

    def point(doc: Doc) -> Doc | None:
        if doc.get(field) == blob_id:  # a retried worker message: already done
            return None
        replaced[:] = [doc.get(field)]
        return {field: blob_id, **(extra or {})}

    try:
        doc = await _write(runtime, owner_id, character_id, point, if_revision=if_revision)
    except BaseException:
        await runtime.blobs.delete(blob_id, owner_id=owner_id)
        raise
    await _delete_blobs(runtime, owner_id, replaced)
    # A retried worker message finds the image already in place and announces it again, harmlessly.
    await _announce(runtime, owner_id, character_id)
    return _public(doc)


async def set_photo(
    runtime: Runtime, owner_id: str, character_id: str, data: bytes, *, if_revision: int | None = None
) -> CharacterPublic:
    """Check ``data`` as an image (by content) and make it the character's photo; with
    ``if_revision``, only if the character is still at that revision (412).

    The old photo's description no longer applies: it is cleared until the describe worker runs.
    """
    doc = await _doc(runtime, owner_id, character_id)
    revisions.check(doc, if_revision, "The character changed since you read it.")
    image = await images.check_async(data, runtime.settings.limits)
    blob_id = await runtime.blobs.put(image.data, owner_id=owner_id, content_type=image.content_type)
    return await _attach(
        runtime, owner_id, character_id, "photo_id", blob_id, {"photo_description": None}, if_revision=if_revision
    )


async def set_portrait(runtime: Runtime, owner_id: str, character_id: str, image_id: str) -> CharacterPublic:
    """Make the stored image ``image_id`` (made by the image worker) the character's portrait.

    Idempotent. When the character no longer exists the image is deleted and NotFound raised.
    """
    if not ids.is_valid(image_id) or await runtime.blobs.get(image_id, owner_id=owner_id) is None:
        raise NotFound("No such image.")
    return await _attach(runtime, owner_id, character_id, "portrait_id", image_id)


async def set_description(
    runtime: Runtime, owner_id: str, character_id: str, text: str, *, photo_id: str | None = None
) -> CharacterPublic:
    """Store the describe worker's description of the character's photo.

    With ``photo_id`` (the photo that was described) a description that arrives after the photo
    was replaced is dropped instead of describing the wrong picture.
    """
    # A model's output is not a user's input: keep what fits instead of failing the job.
    description = text.strip()[:DESCRIPTION_MAX]

    def describe(doc: Doc) -> Doc | None:
        if photo_id is not None and doc.get("photo_id") != photo_id:
            return None
        return {"photo_description": description}

    doc = await _write(runtime, owner_id, character_id, describe)
    await _announce(runtime, owner_id, character_id)
    return _public(doc)


async def _image(runtime: Runtime, owner_id: str, character_id: str, field: str, what: str) -> Blob:
    doc = await _doc(runtime, owner_id, character_id)
    blob = await runtime.blobs.get(doc[field], owner_id=owner_id) if doc.get(field) else None
    if blob is None:
        raise NotFound(f"The character has no {what}.")
    return blob


async def get_photo(runtime: Runtime, owner_id: str, character_id: str) -> Blob:
    return await _image(runtime, owner_id, character_id, "photo_id", "photo")


async def get_portrait(runtime: Runtime, owner_id: str, character_id: str) -> Blob:
    return await _image(runtime, owner_id, character_id, "portrait_id", "portrait yet")
