"""The document store on MongoDB (or anything speaking its wire protocol) through PyMongo's own
asyncio client, which runs on the event loop (Motor, its predecessor, ran every call on a thread).

A document's ``id`` is stored as ``_id``; ``owner_id`` is indexed in every collection.

On MongoDB every write is one ``findAndModify``: a compare-and-set (``update`` with ``expect``) is
that one command, with the owner and ``expect`` in its filter, as MongoDB applies a single-document
update atomically. FerretDB v1 does not: it reads the matching document, then replaces it by
``_id`` (FerretDB/FerretDB#3040), so two writers may both match. There (told by ``buildInfo``,
asked once) every document carries a revision ``_rev``; a conditional writer reads the document,
claims its next revision by inserting ``<collection>:<id>:<rev+1>`` into the ``_revisions``
collection, whose ``_id`` is unique on every server, and only the claim's winner writes.
Conditional writers thus exclude each other; an unconditional update is last-writer-wins on the
fields it sets, as it is on any server. The claims a later revision superseded are deleted in
batches (:data:`SUPERSEDED_BATCH`): a claim left behind by a process that stopped only ever blocks
a writer of a revision that is gone.

On FerretDB, lookups by id go by ``_id`` alone and match owner and ``expect`` in Python: FerretDB v1
scans the whole collection for any other filter.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import bson
from pymongo import AsyncMongoClient, DeleteOne, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from storybang.stores.documents import Doc, OneOf, Page, T, View, ViewPage

REVISIONS = "_revisions"
# Superseded revision claims deleted in one command: a conditional write costs 1/64 of a round trip
# for its cleanup instead of one.
SUPERSEDED_BATCH = 64


def _field(doc: Doc, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _out(raw: dict[str, Any] | None) -> Doc | None:
    if raw is None:
        return None
    doc = dict(raw)
    doc["id"] = doc.pop("_id")
    doc.pop("_rev", None)
    return doc


def _split(batch: bytes) -> list[bytes]:
    """The documents of a raw batch: BSON documents back to back, each starting with its length."""
    documents, at = [], 0
    while at < len(batch):
        size = int.from_bytes(batch[at : at + 4], "little")
        documents.append(batch[at : at + size])
        at += size
    return documents


class MongoDocumentStore:
    """``atomic_updates`` says whether the server applies a filtered update atomically; None: ask
    it (FerretDB says who it is in ``buildInfo``) at the first write that needs to know."""

    def __init__(self, client: AsyncMongoClient[Any], database: str, *, atomic_updates: bool | None = None) -> None:
        self._client = client
        self._db: AsyncDatabase[Any] = client[database]
        self._indexed: set[str] = set()
        self._atomic = atomic_updates
        self._superseded: list[str] = []

    @property
    def client(self) -> AsyncMongoClient[Any]:
        return self._client

    @classmethod
    async def open(cls, url: str, database: str, *, atomic_updates: bool | None = None) -> MongoDocumentStore:
        client: AsyncMongoClient[Any] = AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)
        return cls(client, database, atomic_updates=atomic_updates)

    async def atomic_updates(self) -> bool:
        """Whether a filtered update is atomic on this server: MongoDB's is, FerretDB v1's is not."""
        if self._atomic is None:
            info = await self._client.admin.command("buildInfo")
            self._atomic = "ferretdbVersion" not in info
        return self._atomic

    async def _collection(self, name: str) -> Any:
        coll = self._db[name]
        if name not in self._indexed:
            await coll.create_index("owner_id")
            self._indexed.add(name)
        return coll

    @staticmethod
    def _filter(owner_id: str | None, where: Doc | None) -> Doc:
        query: Doc = {k: {"$in": list(v.values)} if isinstance(v, OneOf) else v for k, v in (where or {}).items()}
        if owner_id is not None:
            query["owner_id"] = owner_id
        return query

    async def insert(self, collection: str, doc: Doc) -> Doc:
        raw = {k: v for k, v in doc.items() if k != "id"}
        raw["_id"] = doc["id"]
        await (await self._collection(collection)).insert_one(raw)
        return doc

    async def _by_id(self, coll: Any, doc_id: str, owner_id: str | None, expect: Doc | None) -> Doc | None:
        """The raw document if it matches owner and ``expect``. Looked up by ``_id`` alone and
        matched here: FerretDB scans a whole collection for any filter beyond ``_id``."""
        raw: Doc | None = await coll.find_one({"_id": doc_id})
        if raw is None or (owner_id is not None and raw.get("owner_id") != owner_id):
            return None
        if any(_field(raw, key) != value for key, value in (expect or {}).items()):
            return None
        return raw

    async def get(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> Doc | None:
        return _out(await self._by_id(await self._collection(collection), doc_id, owner_id, None))

    async def find(
        self,
        collection: str,
        *,
        owner_id: str | None = None,
        where: Doc | None = None,
        search: tuple[str, str] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page:
        coll = await self._collection(collection)
        query = self._query(owner_id, where, search, cursor)
        rows = [_out(raw) async for raw in coll.find(query).sort("_id", -1).limit(limit + 1)]
        items = [r for r in rows[:limit] if r is not None]
        return Page(items, items[-1]["id"] if len(rows) > limit and items else None)

    async def find_view(
        self,
        collection: str,
        view: View[T],
        *,
        owner_id: str | None = None,
        where: Doc | None = None,
        search: tuple[str, str] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ViewPage[T]:
        # The BSON bytes are the stored form: a document read before is not even decoded again.
        # Read as raw batches: no per-document objects or awaits, a few slices of one buffer.
        coll = await self._collection(collection)
        query = self._query(owner_id, where, search, cursor)
        stored: list[bytes] = []
        async for batch in coll.find_raw_batches(query, sort=[("_id", -1)], limit=limit + 1):
            stored += _split(batch)
        items = [view.of(data, functools.partial(self._load, data)) for data in stored[:limit]]
        more = limit and len(stored) > limit
        return ViewPage(items, str(self._load(stored[limit - 1])["id"]) if more else None)

    def _load(self, raw: bytes) -> Doc:
        doc = _out(bson.decode(raw, codec_options=self._db.codec_options))
        assert doc is not None  # decoded from a document, never None
        return doc

    def _query(
        self, owner_id: str | None, where: Doc | None, search: tuple[str, str] | None, cursor: str | None
    ) -> Doc:
        query = self._filter(owner_id, where)
        if cursor:
            query["_id"] = {"$lt": cursor}
        if search and search[1]:
            query[search[0]] = {"$regex": re.escape(search[1]), "$options": "i"}
        return query

    async def update(
        self,
        collection: str,
        doc_id: str,
        changes: Doc,
        *,
        owner_id: str | None = None,
        expect: Doc | None = None,
        increment: dict[str, int] | None = None,
    ) -> Doc | None:
        coll = await self._collection(collection)
        if not changes and not increment:
            return _out(await self._by_id(coll, doc_id, owner_id, expect))
        if (expect is None and owner_id is None) or await self.atomic_updates():
            # One command: the filter is the precondition (on FerretDB, only when there is none).
            query: Doc = {"_id": doc_id, **({"owner_id": owner_id} if owner_id is not None else {}), **(expect or {})}
            raw = await coll.find_one_and_update(
                query,
                {**({"$set": changes} if changes else {}), "$inc": {**(increment or {}), "_rev": 1}},
                return_document=ReturnDocument.AFTER,
            )
            return _out(raw)
        current = await self._by_id(coll, doc_id, owner_id, expect)
        if current is None:
            return None
        rev = int(current.get("_rev", 0))
        if expect is not None:
            try:
                await self._db[REVISIONS].insert_one({"_id": f"{collection}:{doc_id}:{rev + 1}"})
            except DuplicateKeyError:
                return None  # another conditional writer claimed this revision first
        update: Doc = {"$set": {**changes, "_rev": rev + 1}}
        if increment:
            update["$inc"] = increment
        raw = await coll.find_one_and_update({"_id": doc_id}, update, return_document=ReturnDocument.AFTER)
        if expect is not None:
            await self._supersede(f"{collection}:{doc_id}:{rev}")
        return _out(raw)

    async def _supersede(self, claim: str) -> None:
        """Delete ``claim`` with the next batch (see the module docstring)."""
        self._superseded.append(claim)
        if len(self._superseded) >= SUPERSEDED_BATCH:
            await self._flush_superseded()

    async def _flush_superseded(self) -> None:
        claims, self._superseded = self._superseded, []
        if not claims:
            return
        try:
            # One command of one statement per claim: FerretDB looks each up by _id, where a
            # single {"$in": claims} filter would scan every claim.
            await self._db[REVISIONS].bulk_write([DeleteOne({"_id": claim}) for claim in claims], ordered=False)
        except PyMongoError:
            # The write before this cleanup happened: it must not look failed. Next batch, again.
            self._superseded = claims + self._superseded

    async def delete(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> bool:
        coll = await self._collection(collection)
        current = await self._by_id(coll, doc_id, owner_id, None)
        if current is None:
            return False
        result = await coll.delete_one({"_id": doc_id})
        await self._db[REVISIONS].delete_one({"_id": f"{collection}:{doc_id}:{current.get('_rev', 0)}"})
        return bool(result.deleted_count)

    async def delete_many(self, collection: str, *, owner_id: str, where: Doc | None = None) -> int:
        result = await (await self._collection(collection)).delete_many(self._filter(owner_id, where))
        return int(result.deleted_count)

    async def count(self, collection: str, *, owner_id: str | None = None, where: Doc | None = None) -> int:
        return int(await (await self._collection(collection)).count_documents(self._filter(owner_id, where)))

    async def ping(self) -> None:
        await self._db.command("ping")

    async def close(self) -> None:
        await self._flush_superseded()  # what it cannot delete now is left behind, and harmless
        await self._client.close()
