"""The embedded document store: one SQLite table of JSON documents, through SQLAlchemy.

Writes are single statements (``json_set`` with the ``expect`` conditions in the WHERE clause), so
a compare-and-set is atomic without holding a transaction across an await.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storybang.stores.documents import Doc, OneOf, Page

_metadata = sa.MetaData()
documents = sa.Table(
    "documents",
    _metadata,
    sa.Column("collection", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("owner_id", sa.String(64), nullable=True, index=True),
    sa.Column("data", sa.Text, nullable=False),
)


def _path(key: str) -> str:
    if not all(part.isidentifier() for part in key.split(".")):
        raise ValueError(f"invalid document field name: {key!r}")
    return "$." + key


def _unicode_lower(value: Any) -> str | None:
    # SQLite's own lower() folds ASCII only; MongoDB's case-insensitive $regex folds all of Unicode.
    return None if value is None else str(value).lower()


def _equals(key: str, value: Any) -> sa.ColumnElement[bool]:
    if isinstance(value, OneOf):
        return sa.or_(sa.false(), *(_equals(key, v) for v in value.values))
    left = sa.func.json_extract(documents.c.data, _path(key))
    if value is None:
        return left.is_(None)
    right = sa.func.json_extract(sa.literal(json.dumps({"v": value})), "$.v")
    return left == right


class SQLiteDocumentStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str) -> SQLiteDocumentStore:
        engine = create_async_engine(url)

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _functions(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)

        async with engine.begin() as conn:
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.run_sync(_metadata.create_all)
        return cls(engine)

    def _scope(self, collection: str, owner_id: str | None, where: Doc | None) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = [documents.c.collection == collection]
        if owner_id is not None:
            clauses.append(documents.c.owner_id == owner_id)
        clauses.extend(_equals(k, v) for k, v in (where or {}).items())
        return clauses

    async def insert(self, collection: str, doc: Doc) -> Doc:
        async with self._engine.begin() as conn:
            await conn.execute(
                documents.insert().values(
                    collection=collection, id=doc["id"], owner_id=doc.get("owner_id"), data=json.dumps(doc)
                )
            )
        return doc

    async def get(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> Doc | None:
        query = sa.select(documents.c.data).where(*self._scope(collection, owner_id, None), documents.c.id == doc_id)
        async with self._engine.connect() as conn:
            raw = (await conn.execute(query)).scalar_one_or_none()
        return None if raw is None else dict(json.loads(raw))

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
        clauses = self._scope(collection, owner_id, where)
        if cursor:
            clauses.append(documents.c.id < cursor)
        if search and search[1]:
            field, text = search
            escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(
                sa.func.unicode_lower(sa.func.json_extract(documents.c.data, _path(field))).like(
                    f"%{escaped}%", escape="\\"
                )
            )
        query = sa.select(documents.c.data).where(*clauses).order_by(documents.c.id.desc()).limit(limit + 1)
        async with self._engine.connect() as conn:
            rows = [dict(json.loads(raw)) for raw in (await conn.execute(query)).scalars()]
        more = len(rows) > limit
        items = rows[:limit]
        return Page(items, items[-1]["id"] if more and items else None)

    async def update(
        self,
        collection: str,
        doc_id: str,
        changes: Doc,
        *,
        owner_id: str | None = None,
        expect: Doc | None = None,
    ) -> Doc | None:
        clauses = [*self._scope(collection, owner_id, expect), documents.c.id == doc_id]
        args: list[Any] = [documents.c.data]
        for key, value in changes.items():
            args += [_path(key), sa.func.json(sa.literal(json.dumps(value)))]
        async with self._engine.begin() as conn:
            if changes:
                # json_set cannot create a missing parent object: fill those in first.
                for key in changes:
                    parts = key.split(".")
                    for depth in range(1, len(parts)):
                        parent = ".".join(parts[:depth])
                        await conn.execute(
                            documents.update()
                            .where(*clauses, sa.func.json_type(documents.c.data, _path(parent)).is_(None))
                            .values(data=sa.func.json_set(documents.c.data, _path(parent), sa.func.json("{}")))
                        )
                result = await conn.execute(
                    documents.update().where(*clauses).values(data=sa.func.json_set(*args)).returning(documents.c.data)
                )
            else:
                result = await conn.execute(sa.select(documents.c.data).where(*clauses))
            raw = result.scalar_one_or_none()
        return None if raw is None else dict(json.loads(raw))

    async def delete(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                documents.delete().where(*self._scope(collection, owner_id, None), documents.c.id == doc_id)
            )
        return bool(result.rowcount)

    async def delete_many(self, collection: str, *, owner_id: str, where: Doc | None = None) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(documents.delete().where(*self._scope(collection, owner_id, where)))
        return int(result.rowcount)

    async def count(self, collection: str, *, owner_id: str | None = None, where: Doc | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(documents).where(*self._scope(collection, owner_id, where))
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self._engine.dispose()
