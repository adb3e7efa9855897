"""The blob store contract: a directory (embedded) and GridFS (on FerretDB) behave the same."""

from __future__ import annotations

import os

from storybang.stores import ids
from storybang.stores.blobs import BlobStore


async def test_a_stored_blob_reads_back_with_its_content_type(blobs: BlobStore) -> None:
    owner = ids.new_id()
    data = os.urandom(300_000)  # several GridFS chunks
    blob_id = await blobs.put(data, owner_id=owner, content_type="image/png")
    assert ids.is_valid(blob_id)
    blob = await blobs.get(blob_id, owner_id=owner)
    assert blob is not None
    assert (blob.id, blob.owner_id, blob.content_type, blob.data) == (blob_id, owner, "image/png", data)


async def test_an_empty_blob_is_kept(blobs: BlobStore) -> None:
    owner = ids.new_id()
    blob_id = await blobs.put(b"", owner_id=owner, content_type="application/octet-stream")
    blob = await blobs.get(blob_id, owner_id=owner)
    assert blob is not None and blob.data == b""


async def test_another_owners_blob_behaves_as_missing(blobs: BlobStore) -> None:
    owner, stranger = ids.new_id(), ids.new_id()
    blob_id = await blobs.put(b"secret", owner_id=owner, content_type="image/gif")
    assert await blobs.get(blob_id, owner_id=stranger) is None
    assert await blobs.delete(blob_id, owner_id=stranger) is False
    assert await blobs.delete_owner(stranger) == 0
    assert await blobs.get(blob_id, owner_id=owner) is not None


async def test_unknown_and_malformed_ids_are_missing(blobs: BlobStore) -> None:
    owner = ids.new_id()
    for blob_id in (ids.new_id(), "not-an-id", "../../etc/passwd", ""):
        assert await blobs.get(blob_id, owner_id=owner) is None
        assert await blobs.delete(blob_id, owner_id=owner) is False


async def test_delete_removes_a_blob_once(blobs: BlobStore) -> None:
    owner = ids.new_id()
    blob_id = await blobs.put(b"x", owner_id=owner, content_type="image/png")
    assert await blobs.delete(blob_id, owner_id=owner) is True
    assert await blobs.get(blob_id, owner_id=owner) is None
    assert await blobs.delete(blob_id, owner_id=owner) is False


async def test_delete_owner_removes_all_of_theirs_and_nothing_else(blobs: BlobStore) -> None:
    owner, other = ids.new_id(), ids.new_id()
    mine = [await blobs.put(bytes([i]), owner_id=owner, content_type="image/png") for i in range(3)]
    theirs = await blobs.put(b"keep", owner_id=other, content_type="image/png")
    assert await blobs.delete_owner(owner) == 3
    assert [await blobs.get(b, owner_id=owner) for b in mine] == [None, None, None]
    assert await blobs.delete_owner(owner) == 0
    assert await blobs.get(theirs, owner_id=other) is not None
