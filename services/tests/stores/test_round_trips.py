"""What a compare-and-set costs on the MongoDB store: one command where the server applies a
filtered update atomically (MongoDB), a revision claim first where it does not (FerretDB v1, the
server of these tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storybang.stores import documents_mongo, ids
from storybang.stores.documents_mongo import MongoDocumentStore
from tests import roundtrips


def commands(counts: roundtrips.Counts) -> dict[str, int]:
    return {name: n for (_, store, name), n in counts.names.items() if store == "mongo"}


@pytest.fixture
async def opened(mongo_url: str, session_tag: str) -> AsyncIterator[Any]:
    """Stores on clients made after the command listener is in place (PyMongo's rule)."""
    roundtrips.install()
    made: list[MongoDocumentStore] = []

    async def store(atomic_updates: bool | None) -> MongoDocumentStore:
        database = f"storybang_c{session_tag}"
        made.append(await MongoDocumentStore.open(mongo_url, database, atomic_updates=atomic_updates))
        return made[-1]

    yield store
    for s in made:
        await s.close()


async def test_a_compare_and_set_is_one_command_where_updates_are_atomic(opened: Any, collection: str) -> None:
    store: MongoDocumentStore = await opened(True)
    job = await store.insert(collection, {"id": ids.new_id(), "status": "queued", "attempt": 0})
    with roundtrips.counting() as counts:
        won = await store.update(
            collection, job["id"], {"status": "running"}, expect={"status": "queued"}, increment={"attempt": 1}
        )
        lost = await store.update(collection, job["id"], {"status": "running"}, expect={"status": "queued"})
    assert won is not None and won["attempt"] == 1 and lost is None
    assert commands(counts) == {f"findAndModify({collection})": 2}


async def test_on_ferretdb_a_compare_and_set_claims_its_revision_and_cleans_up_in_batches(
    opened: Any, collection: str, session_tag: str
) -> None:
    store: MongoDocumentStore = await opened(None)
    assert await store.atomic_updates() is False, "these tests run on FerretDB, which says so"
    job = await store.insert(collection, {"id": ids.new_id(), "n": 0})
    writes = documents_mongo.SUPERSEDED_BATCH
    with roundtrips.counting() as counts:
        for n in range(writes):
            assert await store.update(collection, job["id"], {"n": n + 1}, expect={"n": n}) is not None
    assert commands(counts) == {
        f"find({collection})": writes,
        "insert(_revisions)": writes,
        f"findAndModify({collection})": writes,
        "delete(_revisions)": 1,  # the claims the writes superseded, at once
    }
    claims = store.client[f"storybang_c{session_tag}"][documents_mongo.REVISIONS]
    left = [c["_id"] async for c in claims.find({"_id": {"$regex": f"^{collection}:"}})]
    assert left == [f"{collection}:{job['id']}:{writes}"]  # the current revision's claim only
