"""The document store on MongoDB (or anything speaking its wire protocol) through motor.

A document's ``id`` is stored as ``_id``; ``owner_id`` is indexed in every collection.

Compare-and-set (``update`` with ``expect``) does not trust the server to apply a filtered update
atomically — FerretDB v1 on SQLite does not (FerretDB/FerretDB#3040). Every document carries a
revision ``_rev``; a conditional writer first claims the next revision by inserting
``<collection>:<id>:<rev+1>`` into the ``_revisions`` collection, whose ``_id`` is unique on every
server, and only the claim's winner writes. Unconditional updates bump ``_rev`` too, so a
conditional writer that lost a race to one of them finds the revision moved and reports no match.
"""

from __future__ import annotations

import re
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from storybang.stores.documents import Doc, Page

REVISIONS = "_revisions"


def _out(raw: dict[str, Any] | None) -> Doc | None:
    if raw is None:
        return None
    doc = dict(raw)
    doc["id"] = doc.pop("_id")
    doc.pop("_rev", None)
    return doc


class MongoDocumentStore:
    def __init__(self, client: AsyncIOMotorClient[Any], database: str) -> None:
        self._client = client
        self._db: AsyncIOMotorDatabase[Any] = client[database]
        self._indexed: set[str] = set()

    @property
    def client(self) -> AsyncIOMotorClient[Any]:
        return self._client

    @classmethod
    async def open(cls, url: str, database: str) -> MongoDocumentStore:
        client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)
        return cls(client, database)

    async def _collection(self, name: str) -> Any:
        coll = self._db[name]
        if name not in self._indexed:
            await coll.create_index("owner_id")
            self._indexed.add(name)
        return coll

    @staticmethod
    def _filter(owner_id: str | None, where: Doc | None) -> Doc:
        query: Doc = dict(where or {})
        if owner_id is not None:
            query["owner_id"] = owner_id
        return query

    async def insert(self, collection: str, doc: Doc) -> Doc:
        raw = {k: v for k, v in doc.items() if k != "id"}
        raw["_id"] = doc["id"]
        await (await self._collection(collection)).insert_one(raw)
        return doc

    async def get(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> Doc | None:
        query = self._filter(owner_id, None) | {"_id": doc_id}
        return _out(await (await self._collection(collection)).find_one(query))

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
        query = self._filter(owner_id, where)
        if cursor:
            query["_id"] = {"$lt": cursor}
        if search and search[1]:
            query[search[0]] = {"$regex": re.escape(search[1]), "$options": "i"}
        coll = await self._collection(collection)
        rows = [_out(raw) async for raw in coll.find(query).sort("_id", -1).limit(limit + 1)]
        items = [r for r in rows[:limit] if r is not None]
        return Page(items, items[-1]["id"] if len(rows) > limit and items else None)

    async def update(
        self,
        collection: str,
        doc_id: str,
        changes: Doc,
        *,
        owner_id: str | None = None,
        expect: Doc | None = None,
    ) -> Doc | None:
        query = self._filter(owner_id, expect) | {"_id": doc_id}
        coll = await self._collection(collection)
        if not changes:
            return _out(await coll.find_one(query))
        if expect is None:
            raw = await coll.find_one_and_update(
                query, {"$set": changes, "$inc": {"_rev": 1}}, return_document=ReturnDocument.AFTER
            )
            return _out(raw)
        current = await coll.find_one(query, {"_rev": 1})
        if current is None:
            return None
        rev = int(current.get("_rev", 0))
        claims = self._db[REVISIONS]
        try:
            await claims.insert_one({"_id": f"{collection}:{doc_id}:{rev + 1}"})
        except DuplicateKeyError:
            return None  # another writer claimed this revision first
        raw = await coll.find_one_and_update(
            query | {"_rev": rev} if rev else query | {"_rev": {"$exists": False}},
            {"$set": {**changes, "_rev": rev + 1}},
            return_document=ReturnDocument.AFTER,
        )
        # The previous claim is no longer needed: keep one claim per document.
        await claims.delete_one({"_id": f"{collection}:{doc_id}:{rev}"})
        return _out(raw)

    async def delete(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> bool:
        result = await (await self._collection(collection)).delete_one(self._filter(owner_id, None) | {"_id": doc_id})
        if result.deleted_count:
            await self._db[REVISIONS].delete_many({"_id": {"$regex": f"^{re.escape(collection)}:{doc_id}:"}})
        return bool(result.deleted_count)

    async def delete_many(self, collection: str, *, owner_id: str, where: Doc | None = None) -> int:
        result = await (await self._collection(collection)).delete_many(self._filter(owner_id, where))
        return int(result.deleted_count)

    async def count(self, collection: str, *, owner_id: str | None = None, where: Doc | None = None) -> int:
        return int(await (await self._collection(collection)).count_documents(self._filter(owner_id, where)))

    async def ping(self) -> None:
        await self._db.command("ping")

    async def close(self) -> None:
        self._client.close()
